//! The active side: opening the TCP connection to a peer ([`connect`], for
//! `bgp_fsm::Action::Connect`).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use super::sockopt;

/// The BGP port (RFC 4271 §8.2.1: "TCP port 179").
pub const BGP_PORT: u16 = 179;

/// How long [`connect`] waits by default for the handshake to complete.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open a connection to a peer; see [`connect`].
///
/// Build with [`ConnectOptions::new`] and the `with_*` methods. `Debug` never prints the
/// TCP-MD5 key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The peer's address and port (normally [`BGP_PORT`]).
    pub remote: SocketAddr,
    /// The local address to bind before connecting, e.g. the inside-tunnel address of a VPN
    /// gateway, so the peer sees the address it is configured with. The port is chosen by
    /// the kernel. Must be of the same family as `remote`. `None`: the kernel picks the
    /// source address from the route to `remote`.
    pub local: Option<IpAddr>,
    /// Interface to bind to with `SO_BINDTODEVICE` (e.g. the tunnel interface `vti0`, or a
    /// VRF device): the connection then only uses routes through that interface, and only
    /// segments arriving on it are accepted. Linux before 5.7 requires `CAP_NET_RAW`.
    pub interface: Option<String>,
    /// RFC 2385 TCP-MD5 key (1 to 80 octets), installed for `remote`'s address before the
    /// SYN goes out: every segment is signed, and unsigned or wrongly signed segments from
    /// the peer are dropped silently by the kernel, so a key mismatch shows as a connect
    /// timeout, not a refusal.
    pub md5_key: Option<Vec<u8>>,
    /// RFC 5082 GTSM (TTL security): the number of hops to the peer (1 for a directly
    /// connected one). Sends with TTL / hop limit 255 and sets `IP_MINTTL` /
    /// `IPV6_MINHOPCOUNT` to 256 - hops, so the kernel drops segments that crossed more
    /// routers, including the SYN-ACK. Overrides `ttl`.
    pub ttl_security: Option<u8>,
    /// Outgoing TTL / hop limit without GTSM, e.g. 1 for a single-hop eBGP peer or the
    /// multihop count; `None` keeps the system default (`net.ipv4.ip_default_ttl`).
    pub ttl: Option<u8>,
    /// How long to wait for the handshake before failing with `TimedOut`.
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    /// Options to connect to `remote` with no local binding, interface, MD5 or GTSM, and the
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn new(remote: SocketAddr) -> Self {
        Self {
            remote,
            local: None,
            interface: None,
            md5_key: None,
            ttl_security: None,
            ttl: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Sets [`ConnectOptions::local`].
    pub fn with_local(mut self, local: IpAddr) -> Self {
        self.local = Some(local);
        self
    }

    /// Sets [`ConnectOptions::interface`].
    pub fn with_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// Sets [`ConnectOptions::md5_key`].
    pub fn with_md5_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.md5_key = Some(key.into());
        self
    }

    /// Sets [`ConnectOptions::ttl_security`] (GTSM hop count, 1 to 255).
    pub fn with_ttl_security(mut self, hops: u8) -> Self {
        self.ttl_security = Some(hops);
        self
    }

    /// Sets [`ConnectOptions::ttl`].
    pub fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets [`ConnectOptions::connect_timeout`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("remote", &self.remote)
            .field("local", &self.local)
            .field("interface", &self.interface)
            .field("md5_key", &self.md5_key.as_ref().map(|_| "<redacted>"))
            .field("ttl_security", &self.ttl_security)
            .field("ttl", &self.ttl)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Opens a TCP connection to a peer with the options BGP needs.
///
/// The socket is built with socket2 and configured before the SYN leaves: interface binding,
/// TCP-MD5 key, TTL / GTSM, local address, then `TCP_NODELAY` (messages are written whole
/// and already coalesced by the [`super::spawn_writer`] task, so Nagle would only delay
/// KEEPALIVEs and NOTIFICATIONs). It is then handed to tokio for the non-blocking connect.
/// Must be called inside a tokio runtime.
///
/// On success feed `bgp_fsm::Event::TcpCrAcked`; on error `TcpConnectionFails`.
///
/// # Errors
///
/// * `TimedOut` after [`ConnectOptions::connect_timeout`]; with TCP-MD5 or GTSM this is also
///   what a key mismatch or a peer too many hops away looks like (the kernel drops the
///   segments without answering).
/// * `InvalidInput`: `local` of another family than `remote`, a bad MD5 key length, a GTSM
///   hop count of 0, an interface name that is empty or longer than 15 octets.
/// * Anything the kernel says: `ConnectionRefused`, `AddrNotAvailable` (the local address is
///   not configured, e.g. the tunnel is down), `ENODEV` for an unknown interface,
///   `PermissionDenied` for `SO_BINDTODEVICE` without privilege on old kernels.
pub async fn connect(opts: &ConnectOptions) -> io::Result<TcpStream> {
    let socket = build_socket(opts)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    match tokio::time::timeout(opts.connect_timeout, socket.connect(opts.remote)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect to {} timed out after {:?}",
                opts.remote, opts.connect_timeout
            ),
        )),
    }
}

fn build_socket(opts: &ConnectOptions) -> io::Result<Socket> {
    let v6 = opts.remote.is_ipv6();
    if let Some(local) = opts.local
        && local.is_ipv6() != v6
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "local address {local} is not of the family of {}",
                opts.remote
            ),
        ));
    }
    let socket = Socket::new(
        Domain::for_address(opts.remote),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    if let Some(interface) = &opts.interface {
        sockopt::bind_device(&socket, interface)?;
    }
    if let Some(key) = &opts.md5_key {
        // RFC 2385 §2: every segment carries the digest, the SYN included, so the key must
        // be in place before connect().
        sockopt::set_md5_key(&socket, opts.remote.ip(), Some(key))?;
    }
    match opts.ttl_security {
        Some(hops) => sockopt::apply_ttl_security(&socket, v6, Some(hops))?,
        None => {
            if let Some(ttl) = opts.ttl {
                sockopt::set_outgoing_ttl(&socket, v6, Some(ttl))?;
            }
        }
    }
    if let Some(local) = opts.local {
        socket.bind(&SocketAddr::new(local, 0).into())?;
    }
    socket.set_tcp_nodelay(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn debug_redacts_the_key() {
        let opts = ConnectOptions::new(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), BGP_PORT))
            .with_md5_key(b"hunter2".to_vec());
        let text = format!("{opts:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn local_family_must_match() {
        let opts = ConnectOptions::new("[::1]:179".parse().expect("addr"))
            .with_local(Ipv4Addr::LOCALHOST.into());
        let err = build_socket(&opts).expect_err("family mismatch");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
