//! Sockets: listener, active connect, TCP-MD5, GTSM, interface binding and framing.
//!
//! Everything here is transport; the protocol decisions stay in `bgp-fsm` (conventions §1).
//! The daemon maps the FSM's actions and this module's results one to one:
//!
//! | FSM / daemon                         | here                                                  |
//! |--------------------------------------|-------------------------------------------------------|
//! | `Action::Connect`                    | [`connect`] → `TcpCrAcked` or `TcpConnectionFails`    |
//! | a peer connects                      | [`Listener::accept`] → `TcpConnectionConfirmed` (known peer) or `TcpCrInvalid` (unknown: log and drop) |
//! | bytes from the peer                  | [`FrameReader::read_message`] → `bgp_wire::decode` → `Event::from_decoded`; [`ReadError::Header`] → `BgpHeaderErr` |
//! | `Action::Send`                       | [`MessageSender::send`]                               |
//! | socket progress                      | [`WriterHandle::progress`] changes → `DataSent`       |
//! | `Action::Close`                      | drop the [`MessageSender`]s (queue flushed, then FIN), drop the reader |
//! | extended message negotiated          | [`FrameReader::set_max_message_len`]                  |
//!
//! # Options and the RFCs behind them
//!
//! * **TCP-MD5** (RFC 2385, `TCP_MD5SIG`): a per-peer key signs every segment, the SYN
//!   included. On the active side [`ConnectOptions::md5_key`] installs it on the socket
//!   before `connect()`. On the passive side keys live on the *listening* socket, one per
//!   peer address ([`Listener::set_md5`]), and must be in place before the peer's SYN
//!   arrives; accepted sockets inherit the key. A mismatch (different keys, or a key on one
//!   side only) is invisible to the application: the kernel drops the segments and the
//!   connect times out. Keys are up to 80 octets. No privilege is needed.
//! * **GTSM** (RFC 5082, TTL security): send with TTL / hop limit 255 and have the kernel drop
//!   segments with a TTL below 256 - hops (`IP_MINTTL`, `IPV6_MINHOPCOUNT`), so a spoofer
//!   more than `hops` routers away cannot reach the session. See
//!   [`ConnectOptions::ttl_security`], [`ListenOptions::ttl_security`],
//!   [`Listener::set_ttl_security`] and [`set_ttl_security`].
//! * **Interface binding** (`SO_BINDTODEVICE`): [`ConnectOptions::interface`],
//!   [`ListenOptions::interface`]; for peers reached through one tunnel or VRF.
//! * **Local address** ([`ConnectOptions::local`]): the inside-tunnel address the peer
//!   expects the session to come from.
//!
//! # Linux specifics and limitations
//!
//! * Linux only. `TCP_MD5SIG` needs a kernel with `CONFIG_TCP_MD5SIG` (`ENOPROTOOPT`
//!   otherwise). Keys are installed per exact peer address with the plain `TCP_MD5SIG`
//!   option: no prefix keys and no per-VRF (`ifindex`) scoping (`TCP_MD5SIG_EXT`), and no
//!   TCP-AO (RFC 5925).
//! * GTSM is per socket, not per peer: `IP_MINTTL` on a listening socket applies to every
//!   SYN arriving at that address. Per peer on a shared listening address, only the
//!   established connection can be protected ([`set_ttl_security`] after accept); its
//!   handshake is not. Give GTSM peers their own listening address where the handshake
//!   matters.
//! * Listening sockets always send with TTL 255 (see [`Listener`]): a GTSM peer's kernel
//!   checks our SYN-ACK too.
//! * `SO_BINDTODEVICE` needs `CAP_NET_RAW` before Linux 5.7.
//! * Binding a local address that is not configured fails with `AddrNotAvailable` (no
//!   `IP_FREEBIND`): while a tunnel is down, connects fail and the FSM retries.
//!
//! # Example
//!
//! ```no_run
//! use bgpd::net::{connect, spawn_writer, ConnectOptions, FrameReader, BGP_PORT};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let opts = ConnectOptions::new(([169, 254, 21, 1], BGP_PORT).into())
//!     .with_local([169, 254, 21, 2].into())
//!     .with_md5_key(b"secret".to_vec())
//!     .with_ttl_security(1)
//!     .with_connect_timeout(Duration::from_secs(5));
//! let stream = connect(&opts).await?; // feed TcpCrAcked
//! let (read, write) = stream.into_split();
//! let mut reader = FrameReader::new(read);
//! let (sender, writer) = spawn_writer(write, 64);
//! sender.send(bgp_wire::keepalive()).await?; // Action::Send
//! let mut progress = writer.progress();
//! tokio::select! {
//!     message = reader.read_message() => {
//!         let _message = message?; // bgp_wire::decode, then Event::from_decoded
//!     }
//!     _ = progress.changed() => { /* Event::DataSent */ }
//! }
//! drop(sender); // Action::Close: flush, FIN
//! tokio::time::timeout(Duration::from_secs(1), writer.join()).await??;
//! # Ok(())
//! # }
//! ```

mod connect;
mod framing;
mod listener;
mod sockopt;
mod writer;

use std::io;
use tokio::net::TcpStream;

pub use connect::{BGP_PORT, ConnectOptions, DEFAULT_CONNECT_TIMEOUT, connect};
pub use framing::{FrameReader, ReadError};
pub use listener::{DEFAULT_BACKLOG, ListenOptions, Listener};
pub use sockopt::{GTSM_TTL, MD5_MAX_KEY_LEN};
pub use writer::{MessageSender, WriterHandle, spawn_writer};

/// Turns RFC 5082 GTSM on (`Some(hops)`, 1 to 255) or off (`None`) for an established
/// connection, e.g. one just accepted for a peer with its own hop count.
///
/// On: sends with TTL / hop limit 255 and drops segments arriving with less than
/// 256 - hops. Off: any TTL is accepted and the outgoing TTL is the system default. Only
/// segments from now on are checked; the handshake already happened (see the module docs).
///
/// # Errors
///
/// `InvalidInput` for a hop count of 0; the kernel's error otherwise.
pub fn set_ttl_security(stream: &TcpStream, hops: Option<u8>) -> io::Result<()> {
    let v6 = stream.local_addr()?.is_ipv6();
    sockopt::apply_ttl_security(stream, v6, hops)
}

/// Splits a connected stream into a [`FrameReader`] for its read half and a writer task for
/// its write half (see [`spawn_writer`]).
pub fn split(
    stream: TcpStream,
    queue_capacity: usize,
) -> (
    FrameReader<tokio::net::tcp::OwnedReadHalf>,
    MessageSender,
    WriterHandle,
) {
    let (read, write) = stream.into_split();
    let (sender, handle) = spawn_writer(write, queue_capacity);
    (FrameReader::new(read), sender, handle)
}
