use lambda_kit::{Context, Error};

struct Service;

impl Service {
    #[lambda_kit::handler]
    async fn hello(&self, event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
        Ok(event)
    }
}

fn main() {}
