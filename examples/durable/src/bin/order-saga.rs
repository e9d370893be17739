//! The order saga as a Lambda function: `durable` serves it as a durable execution, with
//! its checkpoints on Lambda; `init` builds the partners' clients once per environment.

use examples_durable::{Fulfilment, Order, Partners};
use lambda_kit_durable::{DurableContext, DurableError};

/// The partners, built once per environment.
async fn partners() -> Result<Partners, lambda_kit::Error> {
    Ok(Partners)
}

#[lambda_kit::handler(durable, init = partners)]
async fn order_saga(
    order: Order,
    ctx: DurableContext,
    partners: &Partners,
) -> Result<Fulfilment, DurableError> {
    examples_durable::order_saga(order, ctx, partners).await
}
