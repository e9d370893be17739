//! `invoke`: another Lambda function, invoked by the service while this one is suspended.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::protocol::{
    ChainedInvokeOptions, ErrorObject, OperationAction, OperationStatus, OperationSubType,
    OperationType,
};
use crate::serdes::{JsonSerdes, Serdes, read_result, write_result};

/// How a function is invoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeConfig {
    tenant_id: Option<String>,
}

impl InvokeConfig {
    /// Invokes a tenant-isolated function for `tenant`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }
}

impl DurableContext {
    /// Invokes the Lambda function `function_name` (a name or ARN, with a version or alias)
    /// with `payload`, and returns what it answered. The invocation runs outside this one,
    /// which is suspended meanwhile; a replay returns the recorded answer. A function that
    /// fails or times out gives [`DurableError::InvokeFailed`], on replays too.
    pub async fn invoke<P, R>(
        &self,
        name: &str,
        function_name: &str,
        payload: &P,
        config: InvokeConfig,
    ) -> Result<R, DurableError>
    where
        P: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.invoke_with_serdes(
            name,
            function_name,
            payload,
            config,
            &JsonSerdes,
            &JsonSerdes,
        )
        .await
    }

    /// [`DurableContext::invoke`], with the payload written by `payload_serdes` and the
    /// answer read by `result_serdes`.
    pub async fn invoke_with_serdes<P, R>(
        &self,
        name: &str,
        function_name: &str,
        payload: &P,
        config: InvokeConfig,
        payload_serdes: &dyn Serdes<P>,
        result_serdes: &dyn Serdes<R>,
    ) -> Result<R, DurableError> {
        let requested = self.next(
            OperationType::ChainedInvoke,
            OperationSubType::ChainedInvoke,
            name,
        );
        if self.recorded(&requested)?.is_none() {
            let payload = write_result(name, payload_serdes, payload)?;
            self.update(&requested, OperationAction::Start, |update| {
                update.payload = Some(payload);
                update.chained_invoke_options = Some(ChainedInvokeOptions {
                    function_name: function_name.to_owned(),
                    tenant_id: config.tenant_id,
                });
            })
            .await?;
        }
        // Read after the start too: the service may have answered at once.
        let operation = self.state().operation(&requested.id);
        let status = operation.as_ref().map(|operation| operation.status);
        let details = operation
            .and_then(|operation| operation.chained_invoke_details)
            .unwrap_or_default();
        let failed = |error_type: &str, message: &str| DurableError::InvokeFailed {
            name: name.to_owned(),
            error: Box::new(
                details
                    .error
                    .clone()
                    .unwrap_or_else(|| ErrorObject::new(error_type, message)),
            ),
        };
        match status {
            Some(OperationStatus::Succeeded) => {
                read_result(name, result_serdes, details.result.as_deref())
            }
            Some(OperationStatus::Failed) => Err(failed("InvokeError", "the function failed")),
            Some(OperationStatus::TimedOut) => Err(failed("InvokeError", "the function timed out")),
            Some(OperationStatus::Stopped | OperationStatus::Cancelled) => {
                Err(failed("InvokeError", "the invocation was stopped"))
            }
            _ => Err(self.suspend(format!("{function_name} has not answered {name:?} yet"))),
        }
    }
}
