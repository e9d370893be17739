use std::rc::Rc;

use lambda_kit::{Context, Error};

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
    let counter = Rc::new(1);
    tokio::task::yield_now().await;
    Ok(serde_json::json!({ "event": event, "count": *counter }))
}
