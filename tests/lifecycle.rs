//! The execution environment's lifecycle in process, against the fake Runtime API:
//! SnapStart hooks and the restore call, and extensions on the Extensions and Telemetry
//! APIs (registration rules, events, typed telemetry, bad input).

use std::sync::{Arc, Mutex};

use lambda_kit::extension::{Extension, TelemetryRecord, TelemetrySubscription, TelemetryType};
use lambda_kit::testing::{FakeRuntimeApi, Route};
use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde_json::{Value, json};
use tests::config_with;

async fn echo(event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(event)
}

/// What hooks and handlers saw, in order, with a wake-up for each entry.
#[derive(Default)]
struct Entries {
    seen: Mutex<Vec<String>>,
    added: tokio::sync::Notify,
}

type Log = Arc<Entries>;

fn note(log: &Log, what: &str) {
    log.seen.lock().expect("the log").push(what.to_owned());
    log.added.notify_waiters();
}

fn seen(log: &Log) -> Vec<String> {
    log.seen.lock().expect("the log").clone()
}

fn snapstart_runtime(api: &FakeRuntimeApi, log: &Log, restore_fails: bool) -> Runtime {
    let config = config_with(
        &api.address(),
        &[("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")],
    );
    let hook = |name: &'static str, fails: bool| {
        let log = Arc::clone(log);
        async move {
            note(&log, name);
            if fails {
                return Err(Error::new("Restore.NoPool", "the pool would not open"));
            }
            Ok::<_, Error>(())
        }
    };
    Runtime::from_config(config)
        .expect("a runtime")
        .before_snapshot(hook("before 1", false))
        .before_snapshot(hook("before 2", false))
        .after_restore(hook("after 1", false))
        .after_restore(hook("after 2", restore_fails))
}

#[tokio::test]
async fn snapstart_hooks_run_around_the_restore_in_the_documented_order() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let log = Log::default();
    let runtime = snapstart_runtime(&api, &log, false);
    tokio::spawn(runtime.run(handler_fn(echo)));
    let id = api.push(json!({"n": 1}));
    assert_eq!(api.response_json(&id).await, json!({"n": 1}));
    assert_eq!(seen(&log), ["before 2", "before 1", "after 1", "after 2"]);
    let routes: Vec<Route> = api.calls().iter().map(|call| call.route).collect();
    let restore = routes.iter().position(|route| *route == Route::RestoreNext);
    let first_next = routes.iter().position(|route| *route == Route::Next);
    assert!(
        restore.expect("restore/next was called") < first_next.expect("then /next"),
        "{routes:?}"
    );
}

#[tokio::test]
async fn a_failed_after_restore_hook_is_posted_to_restore_error_and_ends_the_process() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let log = Log::default();
    let outcome = snapstart_runtime(&api, &log, true)
        .run(handler_fn(echo))
        .await;
    let error = outcome.expect_err("the runtime ends");
    assert_eq!(error.error_type(), "Restore.NoPool");
    let post = api.wait_for_call(Route::RestoreError).await;
    assert_eq!(
        post.headers["lambda-runtime-function-error-type"],
        "Runtime.AfterRestoreError"
    );
    let body: Value = serde_json::from_slice(&post.body).expect("error JSON");
    assert_eq!(body["errorType"], "Restore.NoPool");
    assert_eq!(
        api.polls(),
        0,
        "no invocation is served after a failed restore"
    );
}

#[tokio::test]
async fn a_failed_before_snapshot_hook_is_an_init_error() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let config = config_with(
        &api.address(),
        &[("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")],
    );
    let outcome = Runtime::from_config(config)
        .expect("a runtime")
        .before_snapshot(async { Err::<(), _>(Error::new("Snapshot.Dirty", "open files")) })
        .run(handler_fn(echo))
        .await;
    assert_eq!(outcome.expect_err("ends").error_type(), "Snapshot.Dirty");
    let post = api.init_error().await;
    assert_eq!(
        post.headers["lambda-runtime-function-error-type"],
        "Snapshot.Dirty"
    );
    assert!(
        !api.calls()
            .iter()
            .any(|call| call.route == Route::RestoreNext)
    );
}

#[tokio::test]
async fn without_snap_start_the_hooks_do_not_run() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let log = Log::default();
    let config = config_with(
        &api.address(),
        &[("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")],
    );
    let runtime = Runtime::from_config(config)
        .expect("a runtime")
        .after_restore({
            let log = Arc::clone(&log);
            async move {
                note(&log, "after");
                Ok::<_, Error>(())
            }
        });
    tokio::spawn(runtime.run(handler_fn(echo)));
    let id = api.push(json!(1));
    api.response_json(&id).await;
    assert!(seen(&log).is_empty());
    assert!(
        !api.calls()
            .iter()
            .any(|call| call.route == Route::RestoreNext)
    );
}

#[tokio::test]
async fn an_internal_extension_gets_invoke_and_typed_platform_records() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let invoked = Log::default();
    let records = Log::default();
    let running = Extension::at("recorder", &api.address())
        .expect("an extension")
        .on_invoke({
            let invoked = Arc::clone(&invoked);
            move |event| {
                note(&invoked, &event.request_id);
                async { Ok::<_, Error>(()) }
            }
        })
        .telemetry(
            TelemetrySubscription::new([TelemetryType::Platform])
                .listen_on(([127, 0, 0, 1], 0).into()),
            {
                let records = Arc::clone(&records);
                move |batch| {
                    for event in batch {
                        let line = match &event.record {
                            TelemetryRecord::Report(report) => {
                                format!("report {}", report.request_id)
                            }
                            TelemetryRecord::Unknown { kind, .. } => format!("unknown {kind}"),
                            TelemetryRecord::Unreadable { kind, .. } => {
                                format!("unreadable {kind}")
                            }
                            _ => event.kind().to_owned(),
                        };
                        note(&records, &line);
                    }
                    async { Ok::<_, Error>(()) }
                }
            },
        )
        .start()
        .await
        .expect("registers and subscribes");
    let registered = api.wait_for_extensions(1).await;
    assert_eq!(registered[0].name, "recorder");
    assert_eq!(registered[0].events, ["INVOKE"]);
    assert!(!registered[0].external);
    tokio::spawn(
        Runtime::from_config(tests::config_for(&api.address()))
            .expect("a runtime")
            .run(handler_fn(echo)),
    );
    let id = api.push(json!({"n": 1}));
    api.response_json(&id).await;
    api.push_telemetry(
        json!({"time": "2026-12-01T00:00:00Z", "type": "platform.future", "record": {}}),
    );
    api.push_telemetry(
        json!({"time": "2026-12-01T00:00:00Z", "type": "platform.report", "record": {"status": 7}}),
    );
    api.push_telemetry(json!({"time": "2026-12-01T00:00:00Z", "type": "platform.logsDropped", "record": {"droppedBytes": 1, "droppedRecords": 1, "reason": "slow"}}));
    // Records arrive in order; the last one pushed says all have.
    wait_until(&records, "platform.logsDropped").await;
    let records = seen(&records);
    for expected in [
        "platform.initStart",
        "platform.extension",
        "platform.telemetrySubscription",
        "platform.start",
        "unknown platform.future",
        "unreadable platform.report",
    ] {
        assert!(
            records.iter().any(|record| record == expected),
            "{expected} in {records:?}"
        );
    }
    assert!(records.contains(&format!("report {id}")), "{records:?}");
    wait_until(&invoked, &id).await;
    drop(running);
}

/// Waits until `log` holds `entry`.
async fn wait_until(log: &Log, entry: &str) {
    loop {
        let added = log.added.notified();
        tokio::pin!(added);
        added.as_mut().enable();
        if seen(log).iter().any(|seen| seen == entry) {
            return;
        }
        added.await;
    }
}

#[tokio::test]
async fn a_failing_invoke_handler_posts_an_exit_error_and_ends_the_extension() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let running = Extension::at("fragile", &api.address())
        .expect("an extension")
        .on_invoke(|_event| async { Err::<(), _>(Error::new("Fragile.Broke", "it broke")) })
        .start()
        .await
        .expect("registers");
    api.wait_for_extensions(1).await;
    tokio::spawn(
        Runtime::from_config(tests::config_for(&api.address()))
            .expect("a runtime")
            .run(handler_fn(echo)),
    );
    api.push(json!(1));
    let outcome = running.await;
    assert_eq!(
        outcome.expect_err("the extension ends").error_type(),
        "Fragile.Broke"
    );
    let errors = api.extension_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (
            errors[0].name.as_str(),
            errors[0].phase,
            errors[0].error_type.as_str()
        ),
        ("fragile", "exit", "Fragile.Broke")
    );
}

#[tokio::test]
async fn refusals_of_the_extensions_api_are_typed_errors() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    // An internal extension may not take SHUTDOWN.
    let refused = Extension::at("inside", &api.address())
        .expect("an extension")
        .on_shutdown(|_event| async { Ok::<_, Error>(()) })
        .run()
        .await
        .expect_err("refused");
    assert!(
        refused.message().contains("403")
            && refused.message().contains("Extension.InvalidEventType"),
        "{refused}"
    );
    // Registration closes once the runtime polls.
    tokio::spawn(
        Runtime::from_config(tests::config_for(&api.address()))
            .expect("a runtime")
            .run(handler_fn(echo)),
    );
    api.wait_for_polls(1).await;
    let late = Extension::at("late", &api.address())
        .expect("an extension")
        .run()
        .await
        .expect_err("refused");
    assert!(
        late.message().contains("Extension.RegistrationClosed"),
        "{late}"
    );
    // An unreachable API is reported after the backoff, not a panic.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    drop(listener);
    let unreachable = Extension::at("lost", &address)
        .expect("an extension")
        .run()
        .await
        .expect_err("unreachable");
    assert!(
        unreachable.message().contains("could not be reached"),
        "{unreachable}"
    );
}

#[tokio::test]
async fn a_runtime_with_shutdown_hooks_registers_the_internal_extension() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = Runtime::from_config(tests::config_for(&api.address()))
        .expect("a runtime")
        .on_shutdown(async {});
    tokio::spawn(runtime.run(handler_fn(echo)));
    let registered = api.wait_for_extensions(1).await;
    assert_eq!(registered[0].name, "lambda-kit-shutdown");
    assert!(
        registered[0].events.is_empty(),
        "internal, for no events: only so that SIGTERM comes"
    );
    let id = api.push(json!(2));
    assert_eq!(api.response_json(&id).await, json!(2));
    let calls = api.calls();
    let register = calls
        .iter()
        .position(|call| call.route == Route::ExtensionRegister);
    let next = calls.iter().position(|call| call.route == Route::Next);
    assert!(
        register.expect("registered") < next.expect("polled"),
        "registered before the first /next"
    );
}
