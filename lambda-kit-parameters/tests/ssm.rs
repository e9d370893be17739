//! The SSM provider against moto's server: reads, decryption, batches, paths, the cache's
//! round trips per scenario, and a stopped or stalled store.

mod common;

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use aws_smithy_types::timeout::TimeoutConfig;
use common::{Mode, Proxy, SHORT_TIMEOUT, aws, moto_url, read_fails, unique};
use lambda_kit_parameters::{ParameterError, Ssm, Transformed};

async fn admin() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&aws(&moto_url()).await)
}

async fn put(admin: &aws_sdk_ssm::Client, name: &str, value: &str, kind: ParameterType) {
    admin
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .expect("moto stores the parameter");
}

async fn ssm_at(endpoint: &str) -> Ssm {
    Ssm::from_conf(&aws(endpoint).await).expect("the environment is valid")
}

const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn reads_text_and_decrypts_secure_strings_only_when_asked() {
    let admin = admin().await;
    let base = format!("/{}", unique("read"));
    put(
        &admin,
        &format!("{base}/url"),
        "postgres://db",
        ParameterType::String,
    )
    .await;
    put(
        &admin,
        &format!("{base}/password"),
        "hunter2",
        ParameterType::SecureString,
    )
    .await;
    let ssm = ssm_at(&moto_url()).await;

    let url = ssm
        .get(format!("{base}/url"))
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(url, "postgres://db");
    let password = ssm
        .get(format!("{base}/password"))
        .decrypt(true)
        .secret()
        .await
        .expect("the read succeeds");
    assert_eq!(password.expose(), "hunter2");
    assert_eq!(format!("{password:?}"), "***");
    // Without decryption SSM answers the ciphertext, never the plain value; decrypted and
    // plain reads are cached apart.
    let sealed = ssm
        .get(format!("{base}/password"))
        .decrypt(false)
        .text()
        .await
        .expect("the read succeeds");
    assert_ne!(sealed, "hunter2");
}

#[tokio::test]
async fn a_missing_parameter_is_not_found_with_its_name() {
    let ssm = ssm_at(&moto_url()).await;
    let name = format!("/{}/absent", unique("missing"));
    let error = ssm.get(&name).text().await.expect_err("the read fails");
    assert!(
        matches!(&error, ParameterError::NotFound { name: n } if *n == name),
        "{error:?}"
    );
    assert_eq!(error.error_type(), "Parameters.NotFound");
    let lambda = lambda_kit::Error::from_diagnostic(error);
    assert_eq!(lambda.error_type(), "Parameters.NotFound");
    assert!(lambda.message().contains(&name));
}

#[tokio::test]
async fn json_and_auto_transforms_decode_by_type_and_suffix() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Limits {
        rate: u32,
    }
    let admin = admin().await;
    let base = format!("/{}", unique("transform"));
    put(
        &admin,
        &format!("{base}/limits.json"),
        r#"{"rate":10}"#,
        ParameterType::String,
    )
    .await;
    put(
        &admin,
        &format!("{base}/key.binary"),
        "aGk=",
        ParameterType::String,
    )
    .await;
    put(
        &admin,
        &format!("{base}/bad"),
        r#"{"rate":"many"}"#,
        ParameterType::String,
    )
    .await;
    let ssm = ssm_at(&moto_url()).await;

    let limits: Limits = ssm
        .get(format!("{base}/limits.json"))
        .json()
        .await
        .expect("the read succeeds");
    assert_eq!(limits, Limits { rate: 10 });
    let auto = ssm
        .get(format!("{base}/key.binary"))
        .auto()
        .await
        .expect("the read succeeds");
    assert_eq!(auto, Transformed::Binary(b"hi".to_vec()));
    let error = ssm
        .get(format!("{base}/bad"))
        .json::<Limits>()
        .await
        .expect_err("the read fails");
    let message = error.to_string();
    assert!(
        message.contains(&format!("{base}/bad")) && message.contains("`rate`"),
        "{message}"
    );
    assert!(!message.contains("many"), "{message}");
}

/// The round trips of each read, as the README's table shows them.
#[tokio::test]
async fn round_trips_per_scenario() {
    let admin = admin().await;
    let name = format!("/{}", unique("trips"));
    put(&admin, &name, "v1", ParameterType::String).await;
    let ssm = ssm_at(&moto_url()).await.with_max_age(LONG);
    let trips = || ssm.provider().round_trips();

    let mut table = Vec::new();
    let mut before = trips();
    let mut record = |scenario: &str, now: u64| {
        table.push((scenario.to_owned(), now - before));
        before = now;
    };
    ssm.get(&name).text().await.expect("the read succeeds");
    record("first read", trips());
    ssm.get(&name).text().await.expect("the read succeeds");
    record("cached read", trips());
    put(&admin, &name, "v2", ParameterType::String).await;
    assert_eq!(
        ssm.get(&name).text().await.expect("the read succeeds"),
        "v1",
        "served from the cache"
    );
    record("cached read after a change", trips());
    assert_eq!(
        ssm.get(&name)
            .max_age(Duration::ZERO)
            .text()
            .await
            .expect("the read succeeds"),
        "v2"
    );
    record("expired read", trips());
    ssm.get(&name)
        .force_fetch()
        .text()
        .await
        .expect("the read succeeds");
    record("forced refresh", trips());

    for (scenario, count) in &table {
        println!("| {scenario} | {count} |");
    }
    let counts: Vec<u64> = table.iter().map(|(_, count)| *count).collect();
    assert_eq!(counts, [1, 0, 0, 1, 1]);
}

#[tokio::test]
async fn ten_concurrent_readers_of_an_expired_key_fetch_once() {
    const READERS: usize = 10;
    let admin = admin().await;
    let name = format!("/{}", unique("concurrent"));
    put(&admin, &name, "v", ParameterType::String).await;
    let proxy = Proxy::start(&moto_url()).await;
    let ssm = std::sync::Arc::new(ssm_at(&proxy.url()).await);
    ssm.get(&name).text().await.expect("the read succeeds");
    let before = ssm.provider().round_trips();

    // The proxy holds the refresh until every reader has looked at the cache and found
    // the value expired: they all overlap the one fetch.
    proxy.set(Mode::Hold);
    let (arrived, arrivals) = tokio::sync::watch::channel(0);
    let arrived = std::sync::Arc::new(arrived);
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (ssm, name, arrived) = (ssm.clone(), name.clone(), arrived.clone());
            tokio::spawn(async move {
                arrived.send_modify(|count| *count += 1);
                ssm.get(&name).max_age(Duration::ZERO).text().await
            })
        })
        .collect();
    arrivals
        .clone()
        .wait_for(|count| *count == READERS)
        .await
        .expect("the read succeeds");
    proxy.wait_for_connections(2).await; // the first read's, and the refresh's
    proxy.set(Mode::Forward);
    for reader in readers {
        assert_eq!(
            reader
                .await
                .expect("the reader ran")
                .expect("the read succeeds"),
            "v"
        );
    }
    assert_eq!(ssm.provider().round_trips() - before, 1);
}

#[tokio::test]
async fn by_name_batches_ten_names_a_call_and_reports_each_failure() {
    let admin = admin().await;
    let base = format!("/{}", unique("byname"));
    let mut names: Vec<String> = (0..12).map(|i| format!("{base}/p{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        put(&admin, name, &format!("value {i}"), ParameterType::String).await;
    }
    let missing = format!("{base}/absent");
    names.push(missing.clone());
    let ssm = ssm_at(&moto_url()).await.with_max_age(LONG);

    let found = ssm.get_by_name(&names).collect_failures().await;
    assert_eq!(
        ssm.provider().round_trips(),
        2,
        "13 names: two GetParameters calls"
    );
    assert_eq!(found.values.len(), 12);
    assert_eq!(
        found
            .values
            .text(&format!("{base}/p03"))
            .expect("the value is there"),
        "value 3"
    );
    assert_eq!(found.failed.len(), 1);
    assert!(matches!(
        found.failed[&missing],
        ParameterError::NotFound { .. }
    ));

    // Awaited, the read fails on the missing name; the others come from the cache.
    let error = ssm.get_by_name(&names).await.expect_err("the read fails");
    assert!(matches!(&error, ParameterError::NotFound { name } if *name == missing));
    assert_eq!(
        ssm.provider().round_trips(),
        3,
        "only the missing name is asked again"
    );
    let cached = ssm
        .get_by_name(&names[..12])
        .await
        .expect("the read succeeds");
    assert_eq!(cached.len(), 12);
    assert_eq!(ssm.provider().round_trips(), 3);
}

#[tokio::test]
async fn a_path_is_read_page_by_page_with_names_relative_to_it() {
    let admin = admin().await;
    let base = format!("/{}", unique("path"));
    for i in 0..13 {
        put(
            &admin,
            &format!("{base}/flags/f{i:02}"),
            &i.to_string(),
            ParameterType::String,
        )
        .await;
    }
    put(&admin, &format!("{base}/top"), "t", ParameterType::String).await;
    let ssm = ssm_at(&moto_url()).await.with_max_age(LONG);

    let all = ssm.get_multiple(&base).await.expect("the read succeeds");
    assert_eq!(all.len(), 14);
    assert_eq!(all.text("flags/f12").expect("the value is there"), "12");
    assert!(
        ssm.provider().round_trips() >= 2,
        "more than one page (ten a page)"
    );
    let direct = ssm
        .get_multiple(&base)
        .recursive(false)
        .await
        .expect("the read succeeds");
    assert_eq!(
        direct
            .texts()
            .expect("every value is text")
            .into_keys()
            .collect::<Vec<_>>(),
        ["top"]
    );
    let trips = ssm.provider().round_trips();
    ssm.get_multiple(&base).await.expect("the read succeeds");
    assert_eq!(
        ssm.provider().round_trips(),
        trips,
        "the path's values are cached"
    );
}

#[tokio::test]
async fn a_stopped_store_fails_unavailable_or_serves_the_stale_value_when_asked() {
    let admin = admin().await;
    let name = format!("/{}", unique("stopped"));
    put(&admin, &name, "last known", ParameterType::String).await;
    let proxy = Proxy::start(&moto_url()).await;
    let ssm = ssm_at(&proxy.url()).await;
    ssm.get(&name).text().await.expect("the read succeeds");
    proxy.stop().await;

    let error = read_fails!(
        ssm.get(&name).force_fetch(),
        ParameterError::Unavailable { .. }
    );
    assert_eq!(error.error_type(), "Parameters.Unavailable");
    let stale = ssm
        .get(&name)
        .force_fetch()
        .serve_stale_on_error()
        .text()
        .await;
    assert_eq!(stale.expect("the stale value stands in"), "last known");
    // Nothing cached under another name: nothing to serve.
    let other = ssm
        .get(format!("{name}-other"))
        .serve_stale_on_error()
        .text()
        .await;
    assert!(matches!(other, Err(ParameterError::Unavailable { .. })));
}

#[tokio::test]
async fn a_stalled_store_times_out_and_the_next_read_succeeds() {
    let admin = admin().await;
    let name = format!("/{}", unique("stalled"));
    put(&admin, &name, "v", ParameterType::String).await;
    let proxy = Proxy::start(&moto_url()).await;
    let config = aws(&proxy.url()).await;
    let client = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&config)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(SHORT_TIMEOUT)
                    .build(),
            )
            .build(),
    );
    let ssm = Ssm::from_client(&client).expect("a valid environment");

    proxy.set(Mode::Stall);
    read_fails!(ssm.get(&name), ParameterError::Unavailable { .. });
    proxy.set(Mode::Forward);
    assert_eq!(ssm.get(&name).text().await.expect("the read succeeds"), "v");
}
