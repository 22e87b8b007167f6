//! The passive side: listening sockets on several addresses ([`Listener`]).

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

use super::sockopt;

/// Default `listen()` backlog: enough for a route reflector's clients reconnecting at once.
pub const DEFAULT_BACKLOG: u32 = 128;

/// Options shared by every address of a [`Listener`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenOptions {
    /// RFC 5082 GTSM hop count applied to every listening address (see
    /// [`Listener::set_ttl_security`] to change one address, and the module docs for what
    /// Linux can and cannot do per peer). `None`: any TTL is accepted.
    pub ttl_security: Option<u8>,
    /// Bind every listening socket to this interface (`SO_BINDTODEVICE`), e.g. a VRF device.
    pub interface: Option<String>,
    /// `listen()` backlog.
    pub backlog: u32,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            ttl_security: None,
            interface: None,
            backlog: DEFAULT_BACKLOG,
        }
    }
}

impl ListenOptions {
    /// Sets [`ListenOptions::ttl_security`].
    pub fn with_ttl_security(mut self, hops: u8) -> Self {
        self.ttl_security = Some(hops);
        self
    }

    /// Sets [`ListenOptions::interface`].
    pub fn with_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }
}

/// Listening sockets on one or more local addresses, IPv4 and IPv6, accepted from as one.
///
/// * IPv6 sockets are `IPV6_V6ONLY`, so `0.0.0.0:179` and `[::]:179` bind side by side and
///   each IPv4 peer arrives on the IPv4 socket with a plain IPv4 address (never
///   IPv4-mapped), which is also the family its TCP-MD5 key must be installed in.
/// * `SO_REUSEADDR` is set, so a restarted daemon binds while old connections linger in
///   TIME_WAIT.
/// * Every listening socket sends with TTL / hop limit 255, GTSM or not: accepted sockets
///   inherit it, and so does the SYN-ACK, which a peer running GTSM checks against its own
///   minimum TTL before the connection even exists. A high initial TTL is harmless to
///   peers without GTSM.
///
/// Unknown peers are the caller's business: [`Listener::accept`] returns the remote and
/// local address, and the caller closes connections from addresses it has no peer for
/// (`bgp_fsm::Event::TcpCrInvalid`, with a log line).
#[derive(Debug)]
pub struct Listener {
    sockets: Vec<ListenSocket>,
    /// Where the next `accept` starts polling, so a busy address cannot starve the others.
    next: AtomicUsize,
}

#[derive(Debug)]
struct ListenSocket {
    local: SocketAddr,
    listener: TcpListener,
}

impl Listener {
    /// Binds and listens on every address in `addrs`.
    ///
    /// A port of 0 picks an ephemeral port once, for the first such address; the following
    /// addresses with port 0 reuse it, so `[127.0.0.1:0, [::1]:0]` listens on one port in
    /// both families (tests use this). Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an empty address list or a bad option; otherwise the first socket
    /// error (e.g. `AddrInUse`, `AddrNotAvailable`, `PermissionDenied` for port 179 without
    /// `CAP_NET_BIND_SERVICE`). Sockets already bound are closed again.
    pub fn bind(addrs: &[SocketAddr], options: &ListenOptions) -> io::Result<Listener> {
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no listen address",
            ));
        }
        let mut sockets = Vec::with_capacity(addrs.len());
        let mut shared_port = None;
        for &addr in addrs {
            let mut addr = addr;
            if addr.port() == 0
                && let Some(port) = shared_port
            {
                addr.set_port(port);
            }
            let socket = listen_socket(addr, options)?;
            let std_listener: std::net::TcpListener = socket.into();
            let listener = TcpListener::from_std(std_listener)?;
            let local = listener.local_addr()?;
            if addr.port() == 0 {
                shared_port = Some(local.port());
            }
            sockets.push(ListenSocket { local, listener });
        }
        Ok(Listener {
            sockets,
            next: AtomicUsize::new(0),
        })
    }

    /// The addresses listened on, with the ports actually bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets.iter().map(|s| s.local).collect()
    }

    /// Installs (`Some`) or removes (`None`) the RFC 2385 TCP-MD5 key for `peer` on every
    /// listening socket of its family.
    ///
    /// Call it when a peer is configured (before it connects: the kernel checks the SYN
    /// against the listening socket's keys and silently drops a SYN that should be signed
    /// and is not, or is signed without a key here), when its key changes, and with `None`
    /// when the peer is removed. Accepted connections keep the key they were accepted with;
    /// changing it here does not touch them. Removing a key that was never installed
    /// succeeds. Safe to call at any time, concurrently with `accept`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a key that is empty or longer than 80 octets; the kernel's error
    /// otherwise. If there are several sockets of the family and one fails, the others may
    /// hold the new key: call again, or remove it.
    pub fn set_md5(&self, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
        for socket in self.sockets_for(peer) {
            sockopt::set_md5_key(&socket.listener, peer, key)?;
        }
        Ok(())
    }

    /// Sets RFC 5082 GTSM on the listening socket bound to `local` (`None` turns it off).
    ///
    /// Linux checks `IP_MINTTL` / `IPV6_MINHOPCOUNT` per socket, not per peer: on a listening
    /// socket it applies to the SYNs of every peer connecting to that address, and accepted
    /// connections inherit it. For a per-peer hop count on a shared address, leave this off
    /// and call [`super::set_ttl_security`] on the accepted stream: that protects the rest of
    /// the connection but not its handshake.
    ///
    /// # Errors
    ///
    /// `NotFound` if no socket is bound to `local` (compare with [`Listener::local_addrs`]);
    /// `InvalidInput` for a hop count of 0.
    pub fn set_ttl_security(&self, local: SocketAddr, hops: Option<u8>) -> io::Result<()> {
        let socket = self
            .sockets
            .iter()
            .find(|s| s.local == local)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("not listening on {local}"))
            })?;
        apply_listener_ttl_security(&socket.listener, local.is_ipv6(), hops)
    }

    /// Waits for a connection on any of the addresses and returns
    /// `(stream, remote address, local address)`.
    ///
    /// The local address is the one the peer connected to (with a wildcard listener, the
    /// concrete address), so the caller can match it against a peer's configured local
    /// address. The stream has `TCP_NODELAY` set. Cancel safe: usable in `tokio::select!`.
    ///
    /// # Errors
    ///
    /// The `accept()` error of one socket. Most are transient (`ECONNABORTED`, `EMFILE`,
    /// `ENFILE`, `ENOBUFS`): log, possibly back off, and call again; the listener stays
    /// usable.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr, SocketAddr)> {
        let (stream, remote) = poll_fn(|cx| {
            let count = self.sockets.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed) % count.max(1);
            for offset in 0..count {
                if let Some(socket) = self.sockets.get((start + offset) % count)
                    && let Poll::Ready(result) = socket.listener.poll_accept(cx)
                {
                    return Poll::Ready(result);
                }
            }
            Poll::Pending
        })
        .await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        Ok((stream, remote, local))
    }

    fn sockets_for(&self, peer: IpAddr) -> impl Iterator<Item = &ListenSocket> {
        self.sockets
            .iter()
            .filter(move |s| sockopt::same_family(peer, s.local))
    }
}

fn listen_socket(addr: SocketAddr, options: &ListenOptions) -> io::Result<Socket> {
    let v6 = addr.is_ipv6();
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    if v6 {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    if let Some(interface) = &options.interface {
        sockopt::bind_device(&socket, interface)?;
    }
    apply_listener_ttl_security(&socket, v6, options.ttl_security)?;
    socket.bind(&addr.into())?;
    let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
    socket.listen(backlog)?;
    Ok(socket)
}

/// GTSM on a listening socket: like [`sockopt::apply_ttl_security`], but the outgoing TTL
/// stays 255 when GTSM is off (see [`Listener`] for why).
fn apply_listener_ttl_security(
    socket: &impl std::os::fd::AsFd,
    v6: bool,
    hops: Option<u8>,
) -> io::Result<()> {
    let min = match hops {
        Some(hops) => sockopt::gtsm_min_ttl(hops)?,
        None => 0,
    };
    sockopt::set_outgoing_ttl(socket, v6, Some(sockopt::GTSM_TTL))?;
    sockopt::set_min_ttl(socket, v6, min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::SockRef;

    #[tokio::test]
    async fn v6_sockets_are_v6_only_and_port_zero_is_shared() {
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:0".parse().expect("v4"),
            "[::1]:0".parse().expect("v6"),
        ];
        let listener = match Listener::bind(&addrs, &ListenOptions::default()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                eprintln!("skipped: no IPv6 loopback ({e})");
                return;
            }
            Err(e) => panic!("bind: {e}"),
        };
        let locals = listener.local_addrs();
        assert_eq!(locals.len(), 2);
        assert_ne!(locals[0].port(), 0);
        assert_eq!(locals[0].port(), locals[1].port());
        for socket in &listener.sockets {
            let sock = SockRef::from(&socket.listener);
            if socket.local.is_ipv6() {
                assert!(sock.only_v6().expect("IPV6_V6ONLY"));
                assert_eq!(sock.unicast_hops_v6().expect("hops"), 255);
            } else {
                assert_eq!(sock.ttl_v4().expect("ttl"), 255);
            }
            assert!(sock.reuse_address().expect("SO_REUSEADDR"));
        }
    }

    #[tokio::test]
    async fn empty_address_list_is_refused() {
        let err = Listener::bind(&[], &ListenOptions::default()).expect_err("empty");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn ttl_security_needs_a_bound_address() {
        let listener = Listener::bind(
            &["127.0.0.1:0".parse().expect("v4")],
            &ListenOptions::default(),
        )
        .expect("bind");
        let other: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let err = listener
            .set_ttl_security(other, Some(1))
            .expect_err("not bound");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let local = listener.local_addrs()[0];
        listener.set_ttl_security(local, Some(1)).expect("gtsm on");
        listener.set_ttl_security(local, None).expect("gtsm off");
    }
}
