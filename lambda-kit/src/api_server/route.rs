//! The resources of the Runtime API as a server sees them, for the fake Runtime API and the
//! local emulator.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::protocol::{API_PATH, EXTENSION_PATH, TELEMETRY_PATH};

/// A Runtime API resource.
// Public through `testing::Route`; without that feature only the emulator uses it.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET /runtime/invocation/next`.
    Next,
    /// `POST /runtime/invocation/{id}/response`.
    Response,
    /// `POST /runtime/invocation/{id}/error`.
    Error,
    /// `POST /runtime/init/error`.
    InitError,
    /// `GET /runtime/restore/next` (SnapStart).
    RestoreNext,
    /// `POST /runtime/restore/error` (SnapStart).
    RestoreError,
    /// `POST /2020-01-01/extension/register`.
    ExtensionRegister,
    /// `GET /2020-01-01/extension/event/next`.
    ExtensionNext,
    /// `POST /2020-01-01/extension/init/error`.
    ExtensionInitError,
    /// `POST /2020-01-01/extension/exit/error`.
    ExtensionExitError,
    /// `PUT /2022-07-01/telemetry`.
    TelemetrySubscribe,
}

impl Route {
    /// Whether this is a route of the Extensions or Telemetry API.
    pub(crate) fn is_extension(self) -> bool {
        matches!(
            self,
            Route::ExtensionRegister
                | Route::ExtensionNext
                | Route::ExtensionInitError
                | Route::ExtensionExitError
                | Route::TelemetrySubscribe
        )
    }
}

/// The route of a request and, for invocation posts, its decoded request id. Any prefix
/// before `/2018-06-01/runtime/` (or the Extensions and Telemetry APIs' paths) is
/// accepted, like cargo-lambda's `/.rt/<name>`.
pub(crate) fn route_of(method: &Method, path: &str) -> Option<(Route, Option<String>)> {
    if let Some((_, rest)) = path.split_once(EXTENSION_PATH) {
        let route = match (method, rest) {
            (&Method::POST, "register") => Route::ExtensionRegister,
            (&Method::GET, "event/next") => Route::ExtensionNext,
            (&Method::POST, "init/error") => Route::ExtensionInitError,
            (&Method::POST, "exit/error") => Route::ExtensionExitError,
            _ => return None,
        };
        return Some((route, None));
    }
    if method == Method::PUT && path.ends_with(TELEMETRY_PATH) {
        return Some((Route::TelemetrySubscribe, None));
    }
    let (_, rest) = path.split_once(API_PATH)?;
    match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["invocation", "next"]) => Some((Route::Next, None)),
        (&Method::POST, ["init", "error"]) => Some((Route::InitError, None)),
        (&Method::GET, ["restore", "next"]) => Some((Route::RestoreNext, None)),
        (&Method::POST, ["restore", "error"]) => Some((Route::RestoreError, None)),
        (&Method::POST, ["invocation", id, resource]) => {
            let id = percent_decode_str(id).decode_utf8_lossy().into_owned();
            match *resource {
                "response" => Some((Route::Response, Some(id))),
                "error" => Some((Route::Error, Some(id))),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_and_without_a_prefix() {
        assert_eq!(
            route_of(&Method::GET, "/2018-06-01/runtime/invocation/next"),
            Some((Route::Next, None))
        );
        assert_eq!(
            route_of(
                &Method::POST,
                "/.rt/f/2018-06-01/runtime/invocation/a%2Fb/error"
            ),
            Some((Route::Error, Some("a/b".into())))
        );
        assert_eq!(
            route_of(&Method::GET, "/2018-06-01/runtime/init/error"),
            None
        );
        assert_eq!(route_of(&Method::POST, "/elsewhere"), None);
        assert_eq!(
            route_of(&Method::GET, "/2018-06-01/runtime/restore/next"),
            Some((Route::RestoreNext, None))
        );
        assert_eq!(
            route_of(&Method::POST, "/2020-01-01/extension/register"),
            Some((Route::ExtensionRegister, None))
        );
        assert_eq!(
            route_of(&Method::GET, "/2020-01-01/extension/event/next"),
            Some((Route::ExtensionNext, None))
        );
        assert_eq!(
            route_of(&Method::PUT, "/2022-07-01/telemetry"),
            Some((Route::TelemetrySubscribe, None))
        );
        assert_eq!(
            route_of(&Method::GET, "/2020-01-01/extension/register"),
            None
        );
        assert_eq!(route_of(&Method::POST, "/2022-07-01/telemetry"), None);
    }
}
