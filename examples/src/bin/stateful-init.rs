//! State built once per execution environment and shared by every invocation.
//!
//! `setup` parses a price table from the environment (`PRICE_TABLE=apple=30,pear=45`, prices
//! in cents) and stamps the environment with an id. It runs before the first poll. If the
//! table is malformed, the error is posted to Lambda's init error endpoint and the
//! process exits. The handler borrows the state: no clone, no `Arc`, no re-parsing per
//! invocation.
//!
//! ```sh
//! PRICE_TABLE=apple=30,pear=45 cargo run -p examples --bin stateful-init -- \
//!     --event '{"item":"pear","quantity":2}'
//! ```

use std::collections::HashMap;

use lambda_kit::{Context, Error};
use serde::{Deserialize, Serialize};

/// What every invocation shares.
struct Shop {
    prices: HashMap<String, u64>,
    environment_id: String,
}

/// `PRICE_TABLE` is not `item=cents,...`.
#[derive(Debug, thiserror::Error)]
#[error("PRICE_TABLE entry {entry:?} is not item=cents (for example apple=30)")]
struct PriceTableInvalid {
    entry: String,
}

/// The item is not in the price table.
#[derive(Debug, thiserror::Error)]
#[error("no price for {0:?}")]
struct UnknownItem(String);

async fn setup() -> Result<Shop, PriceTableInvalid> {
    let table = std::env::var("PRICE_TABLE").unwrap_or_else(|_| "apple=30,pear=45".into());
    let prices = table
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (item, cents) = entry.split_once('=').ok_or_else(|| invalid(entry))?;
            let cents = cents.trim().parse().map_err(|_| invalid(entry))?;
            Ok((item.trim().to_owned(), cents))
        })
        .collect::<Result<_, _>>()?;
    let environment_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(%environment_id, "price table built");
    Ok(Shop {
        prices,
        environment_id,
    })
}

fn invalid(entry: &str) -> PriceTableInvalid {
    PriceTableInvalid {
        entry: entry.to_owned(),
    }
}

/// The event: `{"item": "pear", "quantity": 2}`.
#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u64,
}

/// The response: the total in cents, and which environment priced it.
#[derive(Serialize)]
struct Quote {
    item: String,
    total_cents: u64,
    environment_id: String,
}

#[lambda_kit::handler(init = setup)]
async fn price(order: Order, _ctx: &Context, shop: &Shop) -> Result<Quote, Error> {
    let unit = shop
        .prices
        .get(&order.item)
        .ok_or_else(|| UnknownItem(order.item.clone()))?;
    Ok(Quote {
        total_cents: unit * order.quantity,
        item: order.item,
        environment_id: shop.environment_id.clone(),
    })
}
