//! The DynamoDB provider against moto's server, on tables of Powertools' shape.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{aws, create_table, moto_url, read_fails, unique};
use lambda_kit_parameters::ParameterError;
use lambda_kit_parameters::dynamodb::{DynamoDb, DynamoDbProvider};

async fn admin() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws(&moto_url()).await)
}

/// A new table keyed by `id`, with the sort key `sk` when asked.
async fn table(with_sort_key: bool) -> String {
    let name = unique("parameters");
    create_table(&name, with_sort_key).await;
    name
}

async fn put(admin: &aws_sdk_dynamodb::Client, table: &str, item: &[(&str, &str)]) {
    let mut put = admin.put_item().table_name(table);
    for (attr, value) in item {
        put = put.item(*attr, AttributeValue::S((*value).to_owned()));
    }
    put.send().await.expect("moto stores the item");
}

async fn provider(table: &str) -> DynamoDb {
    let client = aws_sdk_dynamodb::Client::new(&aws(&moto_url()).await);
    DynamoDb::new(DynamoDbProvider::new(&client, table)).expect("a valid environment")
}

#[tokio::test]
async fn one_value_per_id() {
    let admin = admin().await;
    let table = table(false).await;
    put(
        &admin,
        &table,
        &[("id", "endpoint"), ("value", "https://pay.example")],
    )
    .await;
    put(
        &admin,
        &table,
        &[("id", "limits.json"), ("value", r#"{"rate":3}"#)],
    )
    .await;
    put(&admin, &table, &[("id", "no-value")]).await;
    let parameters = provider(&table).await;

    assert_eq!(
        parameters
            .get("endpoint")
            .text()
            .await
            .expect("the read succeeds"),
        "https://pay.example"
    );
    let limits: serde_json::Value = parameters
        .get("limits.json")
        .json()
        .await
        .expect("the read succeeds");
    assert_eq!(limits["rate"], 3);
    read_fails!(parameters.get("absent"), ParameterError::NotFound { .. });
    read_fails!(parameters.get("no-value"), ParameterError::NotFound { .. });
}

#[tokio::test]
async fn several_values_under_one_id_by_sort_key() {
    let admin = admin().await;
    let table = table(true).await;
    for (sk, value) in [
        ("checkout", "on"),
        ("search", "off"),
        ("banner.json", "[1]"),
    ] {
        put(
            &admin,
            &table,
            &[("id", "flags"), ("sk", sk), ("value", value)],
        )
        .await;
    }
    put(
        &admin,
        &table,
        &[("id", "other"), ("sk", "x"), ("value", "y")],
    )
    .await;
    let parameters = provider(&table).await;

    let flags = parameters
        .get_multiple("flags")
        .await
        .expect("the read succeeds");
    let names: Vec<&str> = flags.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["banner.json", "checkout", "search"]);
    assert_eq!(flags.text("checkout").expect("the value is there"), "on");
    assert!(matches!(
        flags.auto("banner.json").expect("the value is there"),
        lambda_kit_parameters::Transformed::Json(_)
    ));
    assert_eq!(parameters.provider().round_trips(), 1);
    parameters
        .get_multiple("flags")
        .await
        .expect("the read succeeds");
    assert_eq!(parameters.provider().round_trips(), 1, "cached");
}

#[tokio::test]
async fn a_missing_table_is_a_service_error_not_a_missing_value() {
    let parameters = provider(&unique("no-such-table")).await;
    let error = read_fails!(parameters.get("endpoint"), ParameterError::Service { .. });
    assert!(error.to_string().contains("not found"), "{error}");
}
