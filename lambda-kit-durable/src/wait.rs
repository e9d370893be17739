//! `wait`: a pause that costs no compute.

use std::time::Duration;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::protocol::{
    OperationAction, OperationStatus, OperationSubType, OperationType, WaitOptions,
};

impl DurableContext {
    /// Waits for `duration` (whole seconds, at least one) without running: the invocation
    /// is suspended, and a later one resumes after the wait.
    pub async fn wait(&self, name: &str, duration: Duration) -> Result<(), DurableError> {
        let requested = self.next(OperationType::Wait, OperationSubType::Wait, name);
        let recorded = self.recorded(&requested)?;
        let status = match recorded.map(|operation| operation.status) {
            Some(status) => Some(status),
            None => {
                let seconds = duration.as_secs().max(1);
                self.update(&requested, OperationAction::Start, |update| {
                    update.wait_options = Some(WaitOptions {
                        wait_seconds: seconds,
                    });
                })
                .await?;
                // The service may have ended it already.
                self.state()
                    .operation(&requested.id)
                    .map(|operation| operation.status)
            }
        };
        match status {
            Some(OperationStatus::Succeeded) => Ok(()),
            _ => Err(self.suspend(format!("wait {name:?} has not ended"))),
        }
    }
}
