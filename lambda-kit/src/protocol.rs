//! Facts of the Runtime API that its client (`runtime/`), the fake API (`testing/`) and
//! the emulator (`local/`) share: routes, header names and size limits.

/// The path every Runtime API route starts with (after an optional prefix, such as
/// cargo-lambda's `/.rt/<name>`).
pub const API_PATH: &str = "/2018-06-01/runtime/";

/// `GET`: the next invocation.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// The start of an invocation's routes: `<id>/response` and `<id>/error` follow.
pub const INVOCATION_PATH: &str = "/2018-06-01/runtime/invocation/";

/// `POST`: an error of the function's init.
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// `GET`: waits until a SnapStart snapshot has been restored (only when
/// `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start`).
pub const RESTORE_NEXT_PATH: &str = "/2018-06-01/runtime/restore/next";

/// `POST`: an error of an after-restore hook.
pub const RESTORE_ERROR_PATH: &str = "/2018-06-01/runtime/restore/error";

/// The path every Extensions API route starts with. It is served at the root of the
/// Runtime API's address (cargo-lambda serves it there too, without its `/.rt` prefix).
pub const EXTENSION_PATH: &str = "/2020-01-01/extension/";

/// `POST`: registers an extension.
pub const EXTENSION_REGISTER_PATH: &str = "/2020-01-01/extension/register";

/// `GET`: the extension's next lifecycle event.
pub const EXTENSION_NEXT_PATH: &str = "/2020-01-01/extension/event/next";

/// `POST`: the extension failed to initialise.
pub const EXTENSION_INIT_ERROR_PATH: &str = "/2020-01-01/extension/init/error";

/// `POST`: the extension is about to exit with an error.
pub const EXTENSION_EXIT_ERROR_PATH: &str = "/2020-01-01/extension/exit/error";

/// `PUT`: subscribes an extension to the Telemetry API.
pub const TELEMETRY_PATH: &str = "/2022-07-01/telemetry";

/// The newest Telemetry API schema version (the one Lambda Managed Instances require).
pub const TELEMETRY_SCHEMA_VERSION: &str = "2025-01-29";

/// The `/next` headers, as Lambda names them.
pub mod header {
    /// The invocation's request id.
    pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
    /// The deadline in Unix epoch milliseconds.
    pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
    /// The ARN the caller invoked.
    pub const INVOKED_FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
    /// The X-Ray trace header.
    pub const TRACE_ID: &str = "lambda-runtime-trace-id";
    /// The mobile-SDK client context (JSON).
    pub const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
    /// The Cognito identity (JSON).
    pub const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
    /// The tenant id of a tenant-isolated function.
    pub const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";
    /// The per-invoke nonce to echo on the answer.
    pub const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
    /// The errorType of an error post.
    pub const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";
    /// The error JSON (base64) in the trailers of a failed stream.
    pub const FUNCTION_ERROR_BODY: &str = "lambda-runtime-function-error-body";
    /// `streaming` on a streamed response post; never sent with another value.
    pub const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";
}

/// The Extensions API's headers, as Lambda names them.
pub mod extension_header {
    /// The extension's name on register: for an external one, its executable's file name.
    pub const NAME: &str = "lambda-extension-name";
    /// The id register hands out, sent on every later call.
    pub const IDENTIFIER: &str = "lambda-extension-identifier";
    /// Optional features asked for on register (`accountId`).
    pub const ACCEPT_FEATURE: &str = "lambda-extension-accept-feature";
    /// The error type of an init or exit error.
    pub const FUNCTION_ERROR_TYPE: &str = "lambda-extension-function-error-type";
    /// The id of one event, on the `event/next` answer.
    pub const EVENT_IDENTIFIER: &str = "lambda-extension-event-identifier";
}

/// The largest buffered response Lambda accepts: 6 MiB plus 100 bytes.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// The largest event the Runtime API hands out: Lambda's 6 MB limit on a synchronous
/// request, counted as Lambda counts it (6 MiB plus 100 bytes). A `/next` answer with a
/// larger body is answered with a `Runtime.InvalidEvent` error, unread.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024 + 100;
