//! The Extensions and Telemetry APIs together, as one server serves them beside the Runtime
//! API: routes a request to `extensions.rs` or `telemetry.rs`, and tells both what the
//! runtime does (init ends, an invocation starts and ends).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::Full;

use super::extensions::Extensions;
use super::route::Route;
use super::telemetry::{InvocationDone, Telemetry};
use super::transport::not_found;

/// The account id register hands out when asked for it.
const ACCOUNT_ID: &str = "123456789012";

/// The Extensions and Telemetry APIs of one function.
pub(crate) struct ExtensionsApi {
    pub(crate) extensions: Extensions,
    pub(crate) telemetry: Telemetry,
    function_version: String,
}

impl ExtensionsApi {
    /// The APIs of the function `function_name` at `function_version`.
    pub(crate) fn new(function_name: &str, function_version: &str) -> Self {
        let telemetry = Telemetry::default();
        telemetry.init_start(function_name, function_version);
        ExtensionsApi {
            extensions: Extensions::new(function_name, function_version),
            telemetry,
            function_version: function_version.to_owned(),
        }
    }

    /// Answers a request to one of the two APIs (`route.is_extension()`).
    pub(crate) async fn handle(
        &self,
        route: Route,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Full<Bytes>> {
        match route {
            Route::ExtensionRegister => {
                let response = self.extensions.register(headers, &body, ACCOUNT_ID);
                if response.status().is_success() {
                    if let Some(registered) = self.extensions.registered().last() {
                        self.telemetry
                            .extension_registered(&registered.name, &registered.events);
                    }
                }
                response
            }
            Route::ExtensionNext => self.extensions.next(headers).await,
            Route::ExtensionInitError => self.extensions.post_error("init", headers, body),
            Route::ExtensionExitError => self.extensions.post_error("exit", headers, body),
            Route::TelemetrySubscribe => match self.extensions.identify(headers) {
                Ok(identifier) => {
                    let name = self.extensions.name_of(&identifier).unwrap_or_default();
                    self.telemetry.subscribe(&name, &body)
                }
                Err(refusal) => refusal.reply(),
            },
            _ => not_found(),
        }
    }

    /// The runtime polled `/next` for the first time `init` after its environment started:
    /// registration closes and init is reported.
    pub(crate) fn init_done(&self, init: Duration) {
        self.extensions.close_registration();
        self.telemetry.init_done(init);
    }

    /// An invocation with these `/next` headers was handed to the runtime.
    pub(crate) fn invocation_start(&self, next_headers: &HeaderMap) {
        self.telemetry
            .invocation_start(next_headers, &self.function_version);
        self.extensions.invoke(next_headers);
    }

    /// An invocation was answered (or ended without an answer).
    pub(crate) fn invocation_done(&self, done: &InvocationDone<'_>) {
        self.telemetry.invocation_done(done);
    }
}
