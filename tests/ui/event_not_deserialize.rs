use lambda_kit::{Context, Error};

struct Order;

#[lambda_kit::handler]
async fn hello(_event: Order, _ctx: Context) -> Result<(), Error> {
    Ok(())
}
