//! The `#[lambda_kit::handler]` attribute macro. It will generate `main` for an async
//! handler fn and wire once-per-environment init; use it through `lambda_kit::handler`.
