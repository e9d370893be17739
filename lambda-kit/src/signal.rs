//! Waiting for the signal that ends the process: SIGTERM, as Lambda sends it before
//! shutdown, and outside Lambda also Ctrl-C (SIGINT), so that shutdown hooks can be tried
//! from a terminal.
//!
//! A listener is created before anything that could make the signal come (registering an
//! extension, starting a child process): from then on the signal is held for it instead of
//! ending the process.

/// A listener for the termination signals; the process no longer dies of them while it
/// exists.
#[derive(Debug)]
pub(crate) struct Termination {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    interrupt: bool,
}

impl Termination {
    /// Listens for SIGTERM and, when `interrupt` is set, for Ctrl-C as well. A listener that
    /// cannot be installed (no signal support) is logged and never fires.
    pub(crate) fn listen(interrupt: bool) -> Self {
        #[cfg(unix)]
        let terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; shutdown hooks will not run");
                None
            }
        };
        Termination {
            #[cfg(unix)]
            terminate,
            interrupt,
        }
    }

    /// Waits for the next signal; returns its name.
    pub(crate) async fn received(&mut self) -> &'static str {
        let interrupt = self.interrupt;
        let interrupted = async move {
            if interrupt && tokio::signal::ctrl_c().await.is_ok() {
                return "SIGINT";
            }
            std::future::pending().await
        };
        #[cfg(unix)]
        let terminated = async {
            if let Some(signal) = self.terminate.as_mut() {
                if signal.recv().await.is_some() {
                    return "SIGTERM";
                }
            }
            std::future::pending().await
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<&'static str>();
        tokio::select! {
            name = terminated => name,
            name = interrupted => name,
        }
    }
}
