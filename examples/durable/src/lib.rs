//! Two durable workflows, each served by a binary of this package and tested with the local
//! runner (`tests/`):
//!
//! - [`order_saga`]: reserve the stock, charge the card, ship; when a step fails for good,
//!   undo what was done (refund, release) in reverse order.
//! - [`approval`]: ask a person to approve an expense through a callback, and decide when
//!   they answer or when the request expires.

use std::time::Duration;

use lambda_kit_durable::{
    CallbackConfig, DurableContext, DurableError, RetryStrategy, StepConfig, info,
};
use serde::{Deserialize, Serialize};

/// An order to fulfil.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// What it costs, in cents.
    pub amount_cents: u64,
    /// What is ordered.
    pub items: Vec<String>,
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Fulfilment {
    /// Reserved, charged and shipped.
    Shipped {
        /// The carrier's tracking id.
        tracking: String,
    },
    /// A step failed for good; what was done before it was undone.
    Cancelled {
        /// The step's error.
        reason: String,
        /// What was undone, in order.
        undone: Vec<String>,
    },
}

/// A partner's refusal: not retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A partner that could not be reached: retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// The partners an order goes through: stock, payments, shipping. Built once per
/// environment (`init`); here they run in process and refuse what the order's items ask
/// them to (`"refuse:payment"`, `"refuse:shipping"`), so both ends of the saga can be
/// tried.
#[derive(Debug, Default)]
pub struct Partners;

impl Partners {
    async fn reserve(&self, order: &Order) -> Result<String, Refused> {
        Ok(format!("reservation-{}", order.id))
    }

    async fn charge(&self, order: &Order) -> Result<String, Refused> {
        if order.items.iter().any(|item| item == "refuse:payment") {
            return Err(Refused(format!(
                "card declined for {} cents",
                order.amount_cents
            )));
        }
        Ok(format!("payment-{}", order.id))
    }

    async fn ship(&self, order: &Order) -> Result<String, Refused> {
        if order.items.iter().any(|item| item == "refuse:shipping") {
            return Err(Refused("no carrier serves the address".to_owned()));
        }
        Ok(format!("tracking-{}", order.id))
    }

    async fn refund(&self, payment: &str) -> Result<String, Unavailable> {
        Ok(format!("refunded {payment}"))
    }

    async fn release(&self, reservation: &str) -> Result<String, Unavailable> {
        Ok(format!("released {reservation}"))
    }
}

/// A refusal ends the step at once; anything else is retried up to three times.
fn refusals_are_final() -> StepConfig {
    StepConfig::default().retry(
        RetryStrategy::default()
            .max_attempts(3)
            .retry_error_types(["Unavailable"]),
    )
}

/// Reserve, charge, ship; on a failure, undo the steps done, newest first. Each step and
/// each undo is checkpointed: a crash or a retry resumes where the saga was, and an undo
/// runs once.
pub async fn order_saga(
    order: Order,
    ctx: DurableContext,
    partners: &Partners,
) -> Result<Fulfilment, DurableError> {
    info!(ctx, order = %order.id, "fulfilling the order");
    // What to undo if a later step fails, newest last.
    let mut undo: Vec<(&str, String)> = Vec::new();
    let reservation = ctx
        .step_with("reserve", refusals_are_final(), |_| {
            partners.reserve(&order)
        })
        .await;
    let failure = match reservation {
        Ok(reservation) => {
            undo.push(("release", reservation));
            match ctx
                .step_with("charge", refusals_are_final(), |_| partners.charge(&order))
                .await
            {
                Ok(payment) => {
                    undo.push(("refund", payment));
                    match ctx
                        .step_with("ship", refusals_are_final(), |_| partners.ship(&order))
                        .await
                    {
                        Ok(tracking) => return Ok(Fulfilment::Shipped { tracking }),
                        Err(error) => error,
                    }
                }
                Err(error) => error,
            }
        }
        Err(error) => error,
    };
    // Suspensions and failed checkpoints end the invocation, not the saga.
    if failure.ends_invocation() {
        return Err(failure);
    }
    info!(ctx, order = %order.id, error = %failure, "undoing the order");
    let mut undone = Vec::new();
    for (action, what) in undo.into_iter().rev() {
        let retried = StepConfig::default().retry(RetryStrategy::default().max_attempts(5));
        let done = ctx
            .step_with(action, retried, |_| async {
                match action {
                    "refund" => partners.refund(&what).await,
                    _ => partners.release(&what).await,
                }
            })
            .await?;
        undone.push(done);
    }
    Ok(Fulfilment::Cancelled {
        reason: failure.to_string(),
        undone,
    })
}

/// An expense to approve.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Expense {
    /// Who asks.
    pub employee: String,
    /// How much, in cents.
    pub amount_cents: u64,
    /// Who approves.
    pub approver: String,
}

/// The decision on an expense.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Approved under the limit, with no one asked.
    AutoApproved,
    /// The approver answered.
    Answered {
        /// Yes or no.
        approved: bool,
        /// Their comment.
        comment: String,
    },
    /// The approver did not answer in time.
    Expired,
}

/// What the approver sends back through `SendDurableExecutionCallbackSuccess`.
#[derive(Debug, Deserialize, Serialize)]
pub struct Answer {
    /// Yes or no.
    pub approved: bool,
    /// Their comment.
    #[serde(default)]
    pub comment: String,
}

/// Expenses up to this are approved without asking.
pub const AUTO_APPROVE_CENTS: u64 = 10_000;

/// How long the approver has to answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(3 * 24 * 3600);

/// Approves a small expense at once; otherwise sends the approver a callback id and waits
/// (suspended, at no cost) for their answer, for up to [`ANSWER_WITHIN`].
pub async fn approval(expense: Expense, ctx: DurableContext) -> Result<Decision, DurableError> {
    if expense.amount_cents <= AUTO_APPROVE_CENTS {
        return Ok(Decision::AutoApproved);
    }
    let config = CallbackConfig::default().timeout(ANSWER_WITHIN);
    let approver = expense.approver.clone();
    let logger = ctx.clone();
    let answer = ctx
        .wait_for_callback("approval", config, |callback_id| async move {
            // A real function would email or message the approver here, with a link that
            // completes the callback; the id is all that link needs.
            info!(logger, %approver, %callback_id, "approval requested");
            Ok::<_, std::convert::Infallible>(())
        })
        .await;
    match answer {
        Ok(text) => {
            let answer: Answer = serde_json::from_str(text.as_deref().unwrap_or("null"))
                .map_err(|error| DurableError::failed("BadAnswer", error.to_string()))?;
            Ok(Decision::Answered {
                approved: answer.approved,
                comment: answer.comment,
            })
        }
        Err(DurableError::ContextFailed { error, .. })
            if error.error_type.as_deref() == Some("CallbackTimeoutError") =>
        {
            Ok(Decision::Expired)
        }
        Err(other) => Err(other),
    }
}
