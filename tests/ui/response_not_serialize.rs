use lambda_kit::{Context, Error};

struct Receipt;

#[lambda_kit::handler]
async fn hello(_event: serde_json::Value, _ctx: Context) -> Result<Receipt, Error> {
    Ok(Receipt)
}
