//! The workflows on a laptop: the local runner, its clock skipping waits, callbacks
//! answered by the test.

use examples_durable::{
    Answer, Decision, Expense, Fulfilment, Order, Partners, approval, order_saga,
};
use lambda_kit_durable::protocol::{InvocationStatus, OperationType};
use lambda_kit_durable::testing::LocalRunner;

fn order(items: &[&str]) -> Order {
    Order {
        id: "o-7".to_owned(),
        amount_cents: 4_200,
        items: items.iter().map(|item| (*item).to_owned()).collect(),
    }
}

static PARTNERS: Partners = Partners;

async fn fulfil(order: &Order) -> (LocalRunner, Fulfilment) {
    let runner = LocalRunner::new();
    let run = runner
        .run(order, |order, ctx| order_saga(order, ctx, &PARTNERS))
        .await
        .expect("the run ends");
    assert_eq!(run.output.status, InvocationStatus::Succeeded);
    let fulfilment =
        serde_json::from_str(run.output.result.as_deref().unwrap_or("")).expect("a fulfilment");
    (runner, fulfilment)
}

fn step_names(runner: &LocalRunner) -> Vec<String> {
    runner
        .operations()
        .into_iter()
        .filter(|operation| operation.kind == OperationType::Step)
        .filter_map(|operation| operation.name)
        .collect()
}

#[tokio::test]
async fn an_order_that_goes_through_is_shipped() {
    let (runner, fulfilment) = fulfil(&order(&["book"])).await;
    assert_eq!(
        fulfilment,
        Fulfilment::Shipped {
            tracking: "tracking-o-7".to_owned()
        }
    );
    assert_eq!(step_names(&runner), ["reserve", "charge", "ship"]);
}

#[tokio::test]
async fn a_declined_card_releases_the_stock() {
    let (runner, fulfilment) = fulfil(&order(&["book", "refuse:payment"])).await;
    let Fulfilment::Cancelled { reason, undone } = fulfilment else {
        panic!("cancelled, got {fulfilment:?}");
    };
    assert!(reason.contains("card declined"), "{reason}");
    assert_eq!(undone, ["released reservation-o-7"]);
    assert_eq!(step_names(&runner), ["reserve", "charge", "release"]);
}

#[tokio::test]
async fn a_failed_shipment_refunds_then_releases() {
    let (runner, fulfilment) = fulfil(&order(&["book", "refuse:shipping"])).await;
    let Fulfilment::Cancelled { undone, .. } = fulfilment else {
        panic!("cancelled, got {fulfilment:?}");
    };
    assert_eq!(undone, ["refunded payment-o-7", "released reservation-o-7"]);
    assert_eq!(
        step_names(&runner),
        ["reserve", "charge", "ship", "refund", "release"]
    );
}

fn expense(amount_cents: u64) -> Expense {
    Expense {
        employee: "ada".to_owned(),
        amount_cents,
        approver: "grace".to_owned(),
    }
}

/// Runs the approval until it waits for the approver; gives the runner and the callback.
async fn ask(amount_cents: u64) -> (LocalRunner, String) {
    let runner = LocalRunner::new();
    let run = runner
        .run(&expense(amount_cents), approval)
        .await
        .expect("suspends");
    assert_eq!(run.output.status, InvocationStatus::Pending);
    let callbacks = runner.pending_callbacks();
    assert_eq!(callbacks.len(), 1, "one approver asked");
    (runner, callbacks[0].clone())
}

async fn decision_after(runner: &LocalRunner) -> Decision {
    let run = runner.resume(approval).await.expect("ends");
    assert_eq!(run.output.status, InvocationStatus::Succeeded);
    serde_json::from_str(run.output.result.as_deref().unwrap_or("")).expect("a decision")
}

#[tokio::test]
async fn a_small_expense_is_approved_without_asking() {
    let runner = LocalRunner::new();
    let run = runner.run(&expense(5_000), approval).await.expect("ends");
    assert_eq!(
        run.output.result.as_deref(),
        Some(r#"{"decision":"auto_approved"}"#)
    );
    assert!(runner.pending_callbacks().is_empty());
}

#[tokio::test]
async fn the_approver_s_answer_decides() {
    let (runner, callback) = ask(90_000).await;
    let answer = Answer {
        approved: false,
        comment: "over budget".to_owned(),
    };
    runner
        .succeed_callback(&callback, &serde_json::to_string(&answer).expect("json"))
        .expect("completed");
    assert_eq!(
        decision_after(&runner).await,
        Decision::Answered {
            approved: false,
            comment: "over budget".to_owned()
        }
    );
}

#[tokio::test]
async fn no_answer_in_time_expires_the_request() {
    let (runner, callback) = ask(90_000).await;
    runner.time_out_callback(&callback).expect("timed out");
    assert_eq!(decision_after(&runner).await, Decision::Expired);
}
