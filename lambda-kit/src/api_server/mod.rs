//! One Runtime API server core, shared by the fake Runtime API (`testing/fake_api.rs`) and
//! the `--serve` emulator (`local/serve.rs`):
//!
//! - `route.rs`: the Runtime API's resources as a server sees them;
//! - `ledger.rs`: the invocations queued and handed out, and the rules for answering them
//!   (one answer per invocation, 400 for an unknown or answered request id, 413 over the
//!   size limit);
//! - `transport.rs`: accepting connections, reading a post's body, replies in Lambda's JSON;
//! - `extensions.rs`, `telemetry.rs`: the Extensions API (registrations, lifecycle events)
//!   and the Telemetry API (subscriptions, platform records, delivery), which
//!   `extensions_api.rs` serves together beside the Runtime API.
//!
//! Each side keeps only what is its own: the fake its fault injection and its record of
//! every call; the emulator the Invoke API, the function process and the REPORT lines.

mod extensions;
mod extensions_api;
mod ledger;
mod route;
mod telemetry;
mod transport;

#[cfg(emulator)]
pub(crate) use self::extensions::EXTENSION_SHUTDOWN_BUDGET;
#[cfg(feature = "testing")]
pub use self::extensions::{PostedExtensionError, RegisteredExtension};
pub(crate) use self::extensions_api::ExtensionsApi;
pub(crate) use self::telemetry::InvocationDone;

#[cfg(emulator)]
pub(crate) use self::ledger::Refusal;
pub(crate) use self::ledger::lock;
pub(crate) use self::ledger::{Ledger, Queued};
// Public through `testing::Route`; without that feature only the emulator uses it.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
pub use self::route::Route;
pub(crate) use self::route::route_of;
#[cfg(emulator)]
pub(crate) use self::transport::error_json;
#[cfg(emulator)]
pub(crate) use self::transport::read_body;
#[cfg(feature = "testing")]
pub(crate) use self::transport::read_body_watched;
pub(crate) use self::transport::{accepted, not_found, reply, serve};
