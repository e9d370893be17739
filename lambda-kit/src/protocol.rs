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

/// The largest buffered response Lambda accepts: 6 MiB plus 100 bytes.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// The largest event the Runtime API hands out: Lambda's 6 MB limit on a synchronous
/// request, counted as Lambda counts it (6 MiB plus 100 bytes). A `/next` answer with a
/// larger body is answered with a `Runtime.InvalidEvent` error, unread.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024 + 100;
