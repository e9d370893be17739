//! The human approval as a Lambda function: it suspends while it waits for the approver,
//! and a later invocation decides once they answer (or the request expires).

use examples_durable::{Decision, Expense};
use lambda_kit_durable::{DurableContext, DurableError};

#[lambda_kit::handler(durable)]
async fn approval(expense: Expense, ctx: DurableContext) -> Result<Decision, DurableError> {
    examples_durable::approval(expense, ctx).await
}
