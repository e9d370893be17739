//! A shutdown hook: work batched across invocations is sent when the environment ends.
//!
//! Each invocation adds an order to a batch held in the init state; `flush` runs once, when
//! Lambda shuts the environment down, and writes what is left. `shutdown = flush` makes
//! the runtime register the internal extension without which Lambda would kill the
//! process without SIGTERM.
//!
//! ```sh
//! # --event runs the hook after its one invocation:
//! cargo run -p examples --bin shutdown -- --event '{"order_id":"o-1"}'
//! # --serve sends the function SIGTERM when stopped with Ctrl-C:
//! cargo run -p examples --bin shutdown -- --serve
//! ```

use std::sync::Mutex;

use lambda_kit::{Context, Error};
use serde::{Deserialize, Serialize};

/// Orders not yet sent, shared by the environment's invocations.
#[derive(Default)]
struct Batch {
    orders: Mutex<Vec<String>>,
}

#[derive(Deserialize)]
struct Order {
    order_id: String,
}

#[derive(Serialize)]
struct Queued {
    queued: usize,
}

async fn setup() -> Result<Batch, Error> {
    Ok(Batch::default())
}

/// Sends what the batch holds (here: one line on stdout, where a real function would call
/// a queue or a database).
async fn flush(batch: &Batch) {
    let orders = std::mem::take(
        &mut *batch
            .orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    println!("flushed {} orders: {}", orders.len(), orders.join(","));
}

#[lambda_kit::handler(init = setup, shutdown = flush)]
async fn queue(order: Order, _ctx: &Context, batch: &Batch) -> Result<Queued, Error> {
    let mut orders = batch
        .orders
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    orders.push(order.order_id);
    Ok(Queued {
        queued: orders.len(),
    })
}
