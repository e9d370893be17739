//! The plugin suite (10-x): the plugins each function registers, and the handlers.
//!
//! The plugins print one JSON object per line on stdout, each carrying the execution's ARN
//! (taken from the invocation-start hook), which is how the suite finds them.

use std::sync::Mutex;
use std::time::Duration;

use lambda_kit_durable::plugin::{
    AttemptInfo, AttemptOutcome, InvocationEnd, InvocationInfo, OperationInfo, Plugin,
};
use lambda_kit_durable::protocol::OperationType;
use lambda_kit_durable::{DurableContext, DurableError, RetryStrategy, StepConfig};
use serde_json::{Value, json};

use crate::{RuntimeError, text};

/// Which hooks a plugin records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hooks {
    Invocation,
    Operation,
    Attempt,
    All,
}

/// A plugin that prints the hooks it records, and panics after each when `faulty`.
struct Printer {
    name: &'static str,
    hooks: Hooks,
    faulty: bool,
    arn: Mutex<String>,
}

impl Printer {
    fn new(name: &'static str, hooks: Hooks) -> Self {
        Printer {
            name,
            hooks,
            faulty: false,
            arn: Mutex::new(String::new()),
        }
    }

    /// Prints `record` with the plugin's name, the hook and the ARN, if `hooks` are
    /// recorded.
    fn print(&self, hooks: Hooks, hook: &str, mut record: Value) {
        if self.hooks != hooks && self.hooks != Hooks::All {
            return;
        }
        record["plugin"] = json!(self.name);
        record["hook"] = json!(hook);
        record["durableExecutionArn"] = json!(*self.arn.lock().unwrap_or_else(|e| e.into_inner()));
        println!("{record}");
        if self.faulty {
            panic!("{} fails in {hook}", self.name);
        }
    }

    /// Records step operations only.
    fn print_step(&self, hooks: Hooks, hook: &str, operation: &OperationInfo<'_>, record: Value) {
        if operation.kind == OperationType::Step {
            self.print(hooks, hook, record);
        }
    }
}

impl Plugin for Printer {
    fn on_invocation_start(&self, info: &InvocationInfo<'_>) {
        *self.arn.lock().unwrap_or_else(|e| e.into_inner()) = info.execution_arn.to_owned();
        let record = json!({ "first": info.first_invocation });
        self.print(Hooks::Invocation, "invocation-start", record);
    }

    fn on_invocation_end(&self, info: &InvocationEnd<'_>) {
        let record = json!({ "status": info.status });
        self.print(Hooks::Invocation, "invocation-end", record);
    }

    fn on_operation_start(&self, info: &OperationInfo<'_>) {
        let record = json!({ "op": info.id });
        self.print_step(Hooks::Operation, "operation-start", info, record);
    }

    fn on_operation_end(&self, info: &OperationInfo<'_>) {
        let record = json!({ "op": info.id, "status": info.status });
        self.print_step(Hooks::Operation, "operation-end", info, record);
    }

    fn on_attempt_start(&self, info: &AttemptInfo<'_>) {
        let record = json!({ "n": info.attempt, "op": info.operation.id });
        self.print_step(Hooks::Attempt, "attempt-start", &info.operation, record);
    }

    fn on_attempt_end(&self, info: &AttemptInfo<'_>) {
        let outcome = match info.outcome {
            Some(AttemptOutcome::Succeeded) => "SUCCEEDED",
            _ => "FAILED",
        };
        let record = json!({ "n": info.attempt, "outcome": outcome, "op": info.operation.id });
        self.print_step(Hooks::Attempt, "attempt-end", &info.operation, record);
    }
}

/// The plugins function `case` registers, in order.
pub(crate) fn for_case(case: &str) -> Vec<impl Plugin + 'static> {
    match case {
        "plugin_invocation_hooks" | "plugin_wait" | "plugin_failure" => {
            vec![Printer::new("CONFPLUGIN", Hooks::Invocation)]
        }
        "plugin_operation_hooks" => vec![Printer::new("CONFPLUGIN", Hooks::Operation)],
        "plugin_attempt_hooks" => vec![Printer::new("CONFPLUGIN", Hooks::Attempt)],
        "plugin_faulty" => vec![Printer {
            faulty: true,
            ..Printer::new("CONFPLUGIN-FAULTY", Hooks::All)
        }],
        "plugin_two" => vec![
            Printer::new("CONFPLUGIN-A", Hooks::Invocation),
            Printer::new("CONFPLUGIN-B", Hooks::Invocation),
        ],
        _ => Vec::new(),
    }
}

/// A step that greets the input and says so in the log.
async fn greet(event: &Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let input = text(event);
    ctx.step("greet", |_| async move {
        tracing::info!("Greeting step running for: {input}");
        Ok::<_, RuntimeError>(format!("Hello, {input}!"))
    })
    .await
    .map(Value::String)
}

/// Runs the plugin handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let result = match case {
        // 10-1, 10-2, 10-4, 10-5
        "plugin_invocation_hooks" | "plugin_operation_hooks" | "plugin_faulty" | "plugin_two" => {
            greet(event, ctx).await
        }
        // 10-3: fails once, succeeds on the retry.
        "plugin_attempt_hooks" => {
            let retry = RetryStrategy::default()
                .max_attempts(3)
                .initial_delay(Duration::from_secs(1))
                .without_jitter();
            ctx.step_with(
                "flaky",
                StepConfig::default().retry(retry),
                |step| async move {
                    if step.attempt < 2 {
                        return Err(RuntimeError("first attempt fails".to_owned()));
                    }
                    Ok("Operation succeeded".to_owned())
                },
            )
            .await
            .map(Value::String)
        }
        // 10-6
        "plugin_wait" => ctx
            .wait("", Duration::from_secs(2))
            .await
            .map(|()| json!("Wait completed")),
        // 10-7
        "plugin_failure" => ctx
            .step_with(
                "always_fails",
                StepConfig::default().retry(RetryStrategy::none()),
                |_| async { Err::<String, _>(RuntimeError("always fails".to_owned())) },
            )
            .await
            .map(Value::String),
        _ => return None,
    };
    Some(result)
}
