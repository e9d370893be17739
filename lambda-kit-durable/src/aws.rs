//! The checkpoint service on Lambda: `CheckpointDurableExecution` and
//! `GetDurableExecutionState` through the AWS SDK for Rust's Lambda client (feature `aws`).
//!
//! The client reads the usual AWS environment (region, credentials, and
//! `AWS_ENDPOINT_URL_LAMBDA`, which points it at a local service in tests).

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{
    CallbackDetails, ChainedInvokeDetails, ContextDetails, ErrorObject, ExecutionDetails,
    ExecutionStatePage, Operation, OperationUpdate, StepDetails, WaitDetails,
};
use crate::service::{CheckpointAnswer, CheckpointService, ServiceError, ServiceFuture};

/// How many operations one `GetDurableExecutionState` call asks for (the service's most).
const PAGE_SIZE: i32 = 1000;

/// [`CheckpointService`] on Lambda's API.
#[derive(Debug, Clone)]
pub struct LambdaCheckpoints {
    client: Client,
}

impl LambdaCheckpoints {
    /// A client configured from the environment, as the AWS SDK reads it.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        LambdaCheckpoints {
            client: Client::new(&config),
        }
    }

    /// Checkpoints through `client`.
    pub fn new(client: Client) -> Self {
        LambdaCheckpoints { client }
    }
}

impl CheckpointService for LambdaCheckpoints {
    fn checkpoint<'a>(
        &'a self,
        arn: &'a str,
        token: &'a str,
        updates: Vec<OperationUpdate>,
    ) -> ServiceFuture<'a, CheckpointAnswer> {
        Box::pin(async move {
            let updates = updates
                .into_iter()
                .map(to_sdk_update)
                .collect::<Result<Vec<_>, _>>()?;
            let answer = self
                .client
                .checkpoint_durable_execution()
                .durable_execution_arn(arn)
                .checkpoint_token(token)
                .set_updates(Some(updates))
                .send()
                .await
                .map_err(service_error)?;
            let (operations, next_marker) = answer
                .new_execution_state()
                .map(|state| {
                    (
                        state
                            .operations()
                            .iter()
                            .filter_map(from_sdk_operation)
                            .collect(),
                        state.next_marker().map(str::to_owned),
                    )
                })
                .unwrap_or_default();
            Ok(CheckpointAnswer {
                checkpoint_token: answer.checkpoint_token().map(str::to_owned),
                new_execution_state: ExecutionStatePage {
                    operations,
                    next_marker,
                },
            })
        })
    }

    fn state<'a>(
        &'a self,
        arn: &'a str,
        token: &'a str,
        marker: &'a str,
    ) -> ServiceFuture<'a, ExecutionStatePage> {
        Box::pin(async move {
            let page = self
                .client
                .get_durable_execution_state()
                .durable_execution_arn(arn)
                .checkpoint_token(token)
                .marker(marker)
                .max_items(PAGE_SIZE)
                .send()
                .await
                .map_err(service_error)?;
            Ok(ExecutionStatePage {
                operations: page
                    .operations()
                    .iter()
                    .filter_map(from_sdk_operation)
                    .collect(),
                next_marker: page.next_marker().map(str::to_owned),
            })
        })
    }
}

/// A failed call as a [`ServiceError`]: throttling, server faults and failed sends are worth
/// another invocation; the service's refusals (a stale token, a bad update) are not.
fn service_error<E, R>(error: SdkError<E, R>) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code.contains("TooManyRequests")
                || code.contains("ServiceException")
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    ServiceError {
        message: DisplayErrorContext(&error).to_string(),
        retryable,
    }
}

/// The service's name of an enum value of ours (the two share their wire names).
fn wire_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Our value for a name the service sent; `None` for one this SDK does not know.
fn from_wire<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn to_sdk_update(
    update: OperationUpdate,
) -> Result<aws_sdk_lambda::types::OperationUpdate, ServiceError> {
    use aws_sdk_lambda::types as sdk;
    sdk::OperationUpdate::builder()
        .id(update.id)
        .r#type(sdk::OperationType::from(wire_name(update.kind).as_str()))
        .action(sdk::OperationAction::from(
            wire_name(update.action).as_str(),
        ))
        .set_parent_id(update.parent_id)
        .set_name(update.name)
        .set_sub_type(update.sub_type.map(wire_name))
        .set_payload(update.payload)
        .set_error(update.error.map(to_sdk_error))
        .set_context_options(update.context_options.map(|options| {
            sdk::ContextOptions::builder()
                .replay_children(options.replay_children)
                .build()
        }))
        .set_step_options(update.step_options.map(|options| {
            sdk::StepOptions::builder()
                .next_attempt_delay_seconds(clamp_i32(options.next_attempt_delay_seconds))
                .build()
        }))
        .set_chained_invoke_options(
            update
                .chained_invoke_options
                .map(|options| {
                    sdk::ChainedInvokeOptions::builder()
                        .function_name(options.function_name)
                        .set_tenant_id(options.tenant_id)
                        .build()
                })
                .transpose()
                .map_err(|error| ServiceError {
                    message: format!("an invoke's options could not be built: {error}"),
                    retryable: false,
                })?,
        )
        .set_callback_options(update.callback_options.map(|options| {
            sdk::CallbackOptions::builder()
                .timeout_seconds(clamp_i32(options.timeout_seconds))
                .heartbeat_timeout_seconds(clamp_i32(options.heartbeat_timeout_seconds))
                .build()
        }))
        .set_wait_options(update.wait_options.map(|options| {
            sdk::WaitOptions::builder()
                .wait_seconds(clamp_i32(options.wait_seconds))
                .build()
        }))
        .build()
        .map_err(|error| ServiceError {
            message: format!("an update could not be built: {error}"),
            retryable: false,
        })
}

fn to_sdk_error(error: ErrorObject) -> aws_sdk_lambda::types::ErrorObject {
    aws_sdk_lambda::types::ErrorObject::builder()
        .set_error_type(error.error_type)
        .set_error_message(error.error_message)
        .set_error_data(error.error_data)
        .set_stack_trace(error.stack_trace)
        .build()
}

fn from_sdk_error(error: &aws_sdk_lambda::types::ErrorObject) -> ErrorObject {
    ErrorObject {
        error_type: error.error_type().map(str::to_owned),
        error_message: error.error_message().map(str::to_owned),
        error_data: error.error_data().map(str::to_owned),
        stack_trace: (!error.stack_trace().is_empty()).then(|| error.stack_trace().to_vec()),
    }
}

/// An operation the service sent; `None` for a type or status this SDK does not know.
fn from_sdk_operation(operation: &aws_sdk_lambda::types::Operation) -> Option<Operation> {
    Some(Operation {
        id: operation.id().to_owned(),
        kind: from_wire(operation.r#type().as_str())?,
        status: from_wire(operation.status().as_str())?,
        parent_id: operation.parent_id().map(str::to_owned),
        name: operation.name().map(str::to_owned),
        sub_type: operation.sub_type().and_then(from_wire),
        start_timestamp: Some(epoch_millis(operation.start_timestamp())),
        end_timestamp: operation.end_timestamp().map(epoch_millis),
        execution_details: operation
            .execution_details()
            .map(|details| ExecutionDetails {
                input_payload: details.input_payload().map(str::to_owned),
            }),
        context_details: operation.context_details().map(|details| ContextDetails {
            result: details.result().map(str::to_owned),
            replay_children: details.replay_children().unwrap_or_default(),
            error: details.error().map(from_sdk_error),
        }),
        step_details: operation.step_details().map(|details| StepDetails {
            attempt: u32::try_from(details.attempt()).unwrap_or_default(),
            next_attempt_timestamp: details.next_attempt_timestamp().map(epoch_millis),
            result: details.result().map(str::to_owned),
            error: details.error().map(from_sdk_error),
        }),
        wait_details: operation.wait_details().map(|details| WaitDetails {
            scheduled_end_timestamp: details.scheduled_end_timestamp().map(epoch_millis),
        }),
        chained_invoke_details: operation.chained_invoke_details().map(|details| {
            ChainedInvokeDetails {
                result: details.result().map(str::to_owned),
                error: details.error().map(from_sdk_error),
            }
        }),
        callback_details: operation.callback_details().map(|details| CallbackDetails {
            callback_id: details.callback_id().unwrap_or_default().to_owned(),
            result: details.result().map(str::to_owned),
            error: details.error().map(from_sdk_error),
        }),
    })
}

fn epoch_millis(time: &DateTime) -> i64 {
    time.to_millis().unwrap_or_default()
}

fn clamp_i32(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
