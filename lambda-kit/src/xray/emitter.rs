//! Sending datagrams to the X-Ray daemon: fire and forget, never blocking.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::OnceLock;

/// Where the daemon listens when `AWS_XRAY_DAEMON_ADDRESS` is not set.
const DEFAULT_DAEMON: &str = "127.0.0.1:2000";

/// `AWS_XRAY_DAEMON_ADDRESS` names no usable UDP address.
#[derive(Debug, thiserror::Error)]
#[error(
    "AWS_XRAY_DAEMON_ADDRESS is {value:?}, expected host:port or \"tcp:host:port udp:host:port\""
)]
pub struct DaemonAddressError {
    value: String,
}

/// A non-blocking UDP socket aimed at the daemon, opened on the first send: most
/// invocations are not sampled, and start-up should not pay for a socket they never use.
#[derive(Debug)]
pub(crate) struct Emitter {
    socket: OnceLock<Option<UdpSocket>>,
    daemon: SocketAddr,
}

impl Emitter {
    pub(crate) fn new(daemon: SocketAddr) -> Self {
        Emitter {
            socket: OnceLock::new(),
            daemon,
        }
    }

    /// Sends one datagram. Tracing must never affect the invocation, so a failed send
    /// (no daemon, full buffer, no socket) is dropped.
    pub(crate) fn send(&self, datagram: &[u8]) {
        let socket = self.socket.get_or_init(|| open_socket(self.daemon).ok());
        if let Some(socket) = socket {
            let _ = socket.send_to(datagram, self.daemon);
        }
    }
}

fn open_socket(daemon: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if daemon.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// The daemon's UDP address from `AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or the two-address
/// form `tcp:host:port udp:host:port`.
pub(crate) fn daemon_address(value: Option<&str>) -> Result<SocketAddr, DaemonAddressError> {
    let value = value.map(str::trim).filter(|value| !value.is_empty());
    let text = value.unwrap_or(DEFAULT_DAEMON);
    let error = || DaemonAddressError {
        value: text.to_owned(),
    };
    let parts: Vec<&str> = text.split_whitespace().collect();
    let udp = match parts.as_slice() {
        [single] => single.strip_prefix("udp:").unwrap_or(single),
        several => several
            .iter()
            .find_map(|part| part.strip_prefix("udp:"))
            .ok_or_else(error)?,
    };
    udp.to_socket_addrs()
        .map_err(|_| error())?
        .next()
        .ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_forms() {
        assert_eq!(
            daemon_address(None).expect("default"),
            "127.0.0.1:2000".parse().expect("addr")
        );
        assert_eq!(
            daemon_address(Some("169.254.79.129:2000")).expect("single"),
            "169.254.79.129:2000".parse().expect("addr")
        );
        assert_eq!(
            daemon_address(Some("tcp:127.0.0.1:2000 udp:127.0.0.2:2001")).expect("pair"),
            "127.0.0.2:2001".parse().expect("addr")
        );
        assert!(daemon_address(Some("tcp:127.0.0.1:2000 tcp:127.0.0.1:2001")).is_err());
        assert!(daemon_address(Some("no-port")).is_err());
    }
}
