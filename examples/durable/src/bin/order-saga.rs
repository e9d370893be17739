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

#[cfg(test)]
mod tests {
    use examples_durable::{Fulfilment, Order, Partners};
    use lambda_kit::testing::{invoke, state};
    use lambda_kit_durable::testing::LocalRunner;

    /// The service `main` serves, driven by lambda-kit's testing kit: one invocation with
    /// the envelope Lambda would send, checkpoints in memory.
    #[tokio::test]
    async fn the_served_handler_answers_the_durable_envelope() {
        let runner = LocalRunner::new();
        let order = Order {
            id: "o-9".to_owned(),
            amount_cents: 1_000,
            items: vec!["pen".to_owned()],
        };
        runner.start(&order).expect("started");
        let service = super::order_saga_handler(runner.checkpoints(), state(Partners));
        // The answer as the runtime would post it.
        let output = invoke(service, runner.invocation()).await.expect_response();
        assert_eq!(output["Status"], "SUCCEEDED");
        let fulfilment: Fulfilment =
            serde_json::from_str(output["Result"].as_str().unwrap_or("")).expect("json");
        assert_eq!(
            fulfilment,
            Fulfilment::Shipped {
                tracking: "tracking-o-9".to_owned()
            }
        );
        assert_eq!(
            runner.operations().len(),
            4,
            "the execution and its three steps"
        );
    }
}
