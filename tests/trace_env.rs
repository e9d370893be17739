//! `_X_AMZN_TRACE_ID` follows the current invocation. A test binary of its own, because
//! the variable is process-global and other tests' loops would change it concurrently.

use lambda_kit::testing::FakeInvocation;
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};

async fn read_trace_env(_: Value, _: Context) -> Result<Value, Error> {
    Ok(json!(std::env::var("_X_AMZN_TRACE_ID").ok()))
}

/// The variable, and where in memory the environment keeps it; with `{"set": "x"}`, the
/// handler first sets the variable itself.
async fn read_trace_env_and_where(event: Value, _: Context) -> Result<Value, Error> {
    if let Some(own) = event["set"].as_str() {
        // SAFETY: one invocation at a time on a current-thread executor; nothing else of
        // this test binary reads the environment now.
        unsafe { std::env::set_var("_X_AMZN_TRACE_ID", own) };
    }
    // SAFETY: a NUL-terminated name; the pointer is only read as a number.
    let at = unsafe { libc::getenv(c"_X_AMZN_TRACE_ID".as_ptr()) } as usize;
    Ok(json!({"value": std::env::var("_X_AMZN_TRACE_ID").ok(), "at": at}))
}

/// A Lambda-like header, different for each `n`, `extra` bytes longer than usual.
fn header(n: usize, extra: usize) -> String {
    format!(
        "Root=1-5759e988-{n:024x};Parent=53995c3f42cd8ad8;Sampled=1{}",
        ";Lineage=a87bd80c:1".repeat(extra / 19)
    )
}

/// glibc keeps every value `setenv` was ever given, so a new header per invocation would
/// grow the process without end. The runtime rewrites one buffer instead: the environment
/// keeps pointing at the same place across invocations (a new place only for a header
/// longer than the buffer, or after the handler set the variable itself), and the value
/// is always the current invocation's.
async fn the_variable_is_rewritten_in_place() {
    let (api, _runtime) = tests::start(handler_fn(read_trace_env_and_where)).await;
    let invoke = |event: Value, trace: Option<&str>| {
        let invocation = FakeInvocation::json(&event);
        let invocation = match trace {
            Some(trace) => invocation.header("lambda-runtime-trace-id", trace),
            None => invocation.without_header("lambda-runtime-trace-id"),
        };
        let id = api.push_invocation(invocation);
        let api = &api;
        async move { api.response_json(&id).await }
    };
    let first = invoke(json!({}), Some(&header(0, 0))).await;
    let place = first["at"].clone();
    assert_ne!(place, json!(0));
    for n in 1..50 {
        let trace = header(n, 0);
        let answer = invoke(json!({}), Some(&trace)).await;
        assert_eq!(
            answer,
            json!({"value": trace, "at": place}),
            "invocation {n}"
        );
    }
    // Removed, then set again: the same buffer goes back into the environment.
    let absent = invoke(json!({}), None).await;
    assert_eq!(absent, json!({"value": null, "at": 0}));
    let again = invoke(json!({}), Some(&header(50, 0))).await;
    assert_eq!(again, json!({"value": header(50, 0), "at": place}));
    // A header longer than the buffer moves it once; shorter ones then stay there.
    let long = header(51, 600);
    let moved = invoke(json!({}), Some(&long)).await;
    assert_eq!(moved["value"], json!(long));
    assert_ne!(moved["at"], place);
    let short = invoke(json!({}), Some(&header(52, 0))).await;
    assert_eq!(short, json!({"value": header(52, 0), "at": moved["at"]}));
    // A handler that sets the variable itself: the next invocation still gets its own.
    let own = invoke(json!({"set": "mine"}), Some(&header(53, 0))).await;
    assert_eq!(own["value"], json!("mine"));
    let after = invoke(json!({}), Some(&header(54, 0))).await;
    assert_eq!(after, json!({"value": header(54, 0), "at": moved["at"]}));
}

#[tokio::test]
async fn the_trace_variable_is_set_per_invocation_and_cleared_when_absent() {
    let (api, _runtime) = tests::start(handler_fn(read_trace_env)).await;
    let traced = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
    );
    assert_eq!(api.response_json(&id).await, json!(traced));
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).without_header("lambda-runtime-trace-id"),
    );
    assert_eq!(api.response_json(&id).await, Value::Null);

    // With concurrent workers no single process-wide variable could be right: it stays unset.
    let concurrent_api = lambda_kit::testing::FakeRuntimeApi::start()
        .await
        .expect("starts");
    let config = tests::config_with(
        &concurrent_api.address(),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")],
    );
    let runtime = lambda_kit::Runtime::from_config(config).expect("runtime");
    tokio::spawn(runtime.run_concurrent(handler_fn(read_trace_env)));
    let id = concurrent_api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
    );
    assert_eq!(concurrent_api.response_json(&id).await, Value::Null);

    // On the multi-thread executor a task of an earlier invocation may read the
    // environment on another thread while it would be written: the variable is left
    // alone. (In this test, after the loops above, because the variable is global.)
    let multi_thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a multi-thread runtime")
            .block_on(async move {
                let (api, _runtime) = tests::start(handler_fn(read_trace_env)).await;
                let id = api.push_invocation(
                    FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
                );
                api.response_json(&id).await
            })
    });
    assert_eq!(multi_thread.join().expect("the check ran"), Value::Null);

    // In the same test, because the variable is global.
    the_variable_is_rewritten_in_place().await;
}
