//! lambda-kit-parameters and Powertools for AWS Lambda (Python) itself reading one store:
//! the same SSM parameters under a path (names relative to it, recursive or not, the
//! `auto` transform by suffix), the same names read by name with a missing one, and the
//! same DynamoDB table of Powertools' shape. The Python side is `aws-lambda-powertools`
//! (installed by `scripts/test.sh`), run by `tests/powertools/read.py` against moto.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ssm::types::ParameterType;
use common::{aws, create_table, moto_url, unique};
use lambda_kit_parameters::dynamodb::{DynamoDb, DynamoDbProvider};
use lambda_kit_parameters::{Ssm, Transformed, Value, Values};
use serde_json::{Map, json};

/// A value as `read.py` prints it.
fn printable(transformed: Transformed) -> serde_json::Value {
    match transformed {
        Transformed::Json(value) => value,
        Transformed::Binary(bytes) => json!({ "bytes": bytes }),
        Transformed::Raw(Value::Text(text)) => json!(text.as_ref()),
        Transformed::Raw(Value::Binary(bytes)) => json!({ "bytes": bytes.as_ref() }),
    }
}

fn texts(values: &Values) -> serde_json::Value {
    json!(values.texts().expect("every value is text"))
}

fn auto(values: &Values) -> serde_json::Value {
    let all = values.auto_all().expect("every value transforms");
    let map: Map<String, serde_json::Value> = all
        .into_iter()
        .map(|(name, value)| (name, printable(value)))
        .collect();
    serde_json::Value::Object(map)
}

async fn store_ssm(base: &str) {
    let ssm = aws_sdk_ssm::Client::new(&aws(&moto_url()).await);
    let values = [
        ("db/url", "postgres://db"),
        ("db/settings.json", r#"{"pool": 5, "names": ["a", "b"]}"#),
        ("keys/signing.binary", "aGVsbG8="),
        ("level", "debug"),
        ("list", "a,b,c"),
    ];
    for (name, value) in values {
        ssm.put_parameter()
            .name(format!("{base}/{name}"))
            .value(value)
            .r#type(ParameterType::String)
            .send()
            .await
            .expect("moto stores the parameter");
    }
}

/// Two tables of Powertools' shape: `id` and `value` for single values (`table`), `id`,
/// `sk` and `value` for several under one id (`table_multiple`).
async fn store_dynamodb(table: &str, table_multiple: &str) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws(&moto_url()).await);
    create_table(table, false).await;
    dynamodb
        .put_item()
        .table_name(table)
        .item("id", AttributeValue::S("endpoint".into()))
        .item("value", AttributeValue::S("https://pay.example".into()))
        .send()
        .await
        .expect("moto stores the item");
    create_table(table_multiple, true).await;
    let items = [
        ("flags", "checkout", "on"),
        ("flags", "banner.json", r#"{"text": "sale"}"#),
        ("flags", "logo.binary", "AAEC"),
    ];
    for (id, sk, value) in items {
        dynamodb
            .put_item()
            .table_name(table_multiple)
            .item("id", AttributeValue::S(id.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("value", AttributeValue::S(value.into()))
            .send()
            .await
            .expect("moto stores the item");
    }
}

/// What Powertools reads for `request`.
fn powertools(request: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/powertools/read.py"
        ))
        .env("AWS_ENDPOINT_URL", moto_url())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test.sh installs aws-lambda-powertools)");
    let mut stdin = child.stdin.take().expect("piped");
    stdin
        .write_all(request.to_string().as_bytes())
        .expect("the request is written");
    drop(stdin);
    let output = child.wait_with_output().expect("read.py ends");
    assert!(output.status.success(), "read.py failed");
    serde_json::from_slice(&output.stdout).expect("read.py prints JSON")
}

#[tokio::test]
async fn both_read_the_same_values_from_the_same_stores() {
    let base = format!("/{}", unique("powertools"));
    store_ssm(&base).await;
    let (table, table_multiple) = (unique("powertools-one"), unique("powertools-multiple"));
    store_dynamodb(&table, &table_multiple).await;
    let names = [
        format!("{base}/level"),
        format!("{base}/db/url"),
        format!("{base}/absent"),
    ];
    let request = json!({
        "ssm_path": base,
        "ssm_names": names,
        "table": table,
        "table_multiple": table_multiple,
        "dynamodb_name": "endpoint",
        "dynamodb_partition": "flags",
    });
    let python = powertools(&request);

    let config = aws(&moto_url()).await;
    let ssm = Ssm::from_conf(&config).expect("a valid environment");
    let path = ssm.get_multiple(&base).await.expect("the read succeeds");
    let direct = ssm
        .get_multiple(&base)
        .recursive(false)
        .await
        .expect("the read succeeds");
    let by_name = ssm.get_by_name(&names).collect_failures().await;
    let dynamodb_client = aws_sdk_dynamodb::Client::new(&config);
    let dynamodb = |table: &str| {
        DynamoDb::new(DynamoDbProvider::new(&dynamodb_client, table)).expect("a valid environment")
    };
    let endpoint = dynamodb(&table)
        .get("endpoint")
        .text()
        .await
        .expect("the read succeeds");
    let flags = dynamodb(&table_multiple)
        .get_multiple("flags")
        .await
        .expect("the read succeeds");

    assert_eq!(path.len(), 5, "{path:?}");
    assert_eq!(by_name.failed.len(), 1);
    assert_eq!(python["ssm_path"], texts(&path));
    assert_eq!(python["ssm_path_auto"], auto(&path));
    assert_eq!(python["ssm_path_direct"], texts(&direct));
    assert_eq!(python["ssm_by_name"], texts(&by_name.values));
    assert_eq!(
        python["ssm_by_name_failed"],
        json!(by_name.failed.keys().collect::<Vec<_>>())
    );
    assert_eq!(python["dynamodb_one"], json!(endpoint));
    assert_eq!(python["dynamodb_multiple_auto"], auto(&flags));
}
