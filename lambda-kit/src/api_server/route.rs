//! The resources of the Runtime API as a server sees them, for the fake Runtime API and the
//! local emulator.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::protocol::API_PATH;

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
}

/// The route of a request and, for invocation posts, its decoded request id. Any prefix
/// before `/2018-06-01/runtime/` is accepted, like cargo-lambda's `/.rt/<name>`.
pub(crate) fn route_of(method: &Method, path: &str) -> Option<(Route, Option<String>)> {
    let (_, rest) = path.split_once(API_PATH)?;
    match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["invocation", "next"]) => Some((Route::Next, None)),
        (&Method::POST, ["init", "error"]) => Some((Route::InitError, None)),
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
    }
}
