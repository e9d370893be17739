//! A bootstrap whose shutdown hooks test the rules: they run in order, the one that
//! overruns the grace period is cut off (the next never starts), and invocations in flight
//! answer before any hook runs. An event `{"hold_ms": N}` prints `started` and answers
//! after N ms.

use std::time::Duration;

use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde_json::{Value, json};

async fn hold(event: Value, _ctx: Context) -> Result<Value, Error> {
    let hold_ms = event["hold_ms"].as_u64().unwrap_or_default();
    println!("started");
    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    Ok(json!({"held_ms": hold_ms}))
}

fn main() -> lambda_kit::Exit {
    let served = lambda_kit::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::from)
        .and_then(|executor| {
            executor.block_on(async {
                Runtime::from_env()?
                    .on_shutdown(async { println!("hook 1") })
                    .on_shutdown(async {
                        if std::env::var_os("HANG").is_some() {
                            std::future::pending::<()>().await;
                        }
                        println!("hook 2");
                    })
                    .on_shutdown(async { println!("hook 3") })
                    .run_concurrent(handler_fn(hold))
                    .await
            })
        });
    lambda_kit::Exit::from(served)
}
