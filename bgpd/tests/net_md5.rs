//! RFC 2385 TCP-MD5 over loopback only (127.0.0.0/8 and ::1).
//!
//! Linux lets any user set `TCP_MD5SIG` (no capability is checked), but the kernel must be
//! built with `CONFIG_TCP_MD5SIG` and a sandbox may filter the option: each test first
//! probes the option and skips, printing why and the effective uid, if it is refused.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgpd::net::{ConnectOptions, ListenOptions, Listener, MD5_MAX_KEY_LEN, connect, split};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Long enough for any loopback handshake; the negative tests wait this long.
const SHORT: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(2);

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// The effective uid, from `/proc/self/status` ("Uid: real effective saved fs").
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `Some(reason)` if TCP-MD5 cannot be used here.
fn skip_reason(listener: &Listener) -> Option<String> {
    let probe = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 254));
    match listener.set_md5(probe, Some(b"probe")) {
        Ok(()) => {
            listener.set_md5(probe, None).expect("remove probe key");
            None
        }
        Err(e) => Some(format!(
            "TCP_MD5SIG refused ({e}; euid {:?}): kernel without CONFIG_TCP_MD5SIG or a \
             sandbox filtering the option",
            effective_uid()
        )),
    }
}

macro_rules! listener_or_skip {
    ($ips:expr) => {{
        let addrs: Vec<SocketAddr> = $ips.iter().map(|&ip| SocketAddr::new(ip, 0)).collect();
        let listener = Listener::bind(&addrs, &ListenOptions::default()).expect("bind");
        if let Some(reason) = skip_reason(&listener) {
            eprintln!("skipped: {reason}");
            return;
        }
        listener
    }};
}

fn have_ipv6() -> bool {
    match std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping the IPv6 part: cannot bind ::1 ({e})");
            false
        }
    }
}

fn to(ip: IpAddr, listener: &Listener) -> ConnectOptions {
    ConnectOptions::new(SocketAddr::new(ip, listener.local_addrs()[0].port()))
        .with_connect_timeout(WAIT)
}

async fn connect_and_accept(
    listener: &Listener,
    opts: &ConnectOptions,
) -> (TcpStream, TcpStream, SocketAddr) {
    let (client, accepted) = tokio::join!(connect(opts), timeout(WAIT, listener.accept()));
    let client = client.expect("connect");
    let (server, remote, _) = accepted.expect("accepted in time").expect("accept");
    (client, server, remote)
}

/// Connecting with `opts` must time out (the kernel drops the SYN or the SYN-ACK), and the
/// listener must accept nothing.
async fn assert_no_connection(listener: &Listener, opts: ConnectOptions) {
    let opts = opts.with_connect_timeout(SHORT);
    let (client, accepted) = tokio::join!(connect(&opts), timeout(SHORT, listener.accept()));
    let err = client.expect_err("the handshake must not complete");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(accepted.is_err(), "nothing may be accepted");
}

/// One KEEPALIVE each way through the framing layer, then a clean close.
async fn exchange(client: TcpStream, server: TcpStream) {
    let (mut client_reader, client_sender, client_writer) = split(client, 8);
    let (mut server_reader, server_sender, server_writer) = split(server, 8);
    client_sender
        .send(bgp_wire::keepalive())
        .await
        .expect("queue");
    server_sender
        .send(bgp_wire::keepalive())
        .await
        .expect("queue");
    for reader in [&mut server_reader, &mut client_reader] {
        let message = timeout(WAIT, reader.read_message())
            .await
            .expect("in time")
            .expect("read")
            .expect("a message");
        assert_eq!(message, bgp_wire::keepalive());
    }
    drop((client_sender, server_sender));
    for writer in [client_writer, server_writer] {
        timeout(WAIT, writer.join())
            .await
            .expect("writer ends")
            .expect("clean shutdown");
    }
}

/// In a `net` module so `cargo test -p bgpd net` selects these tests by name.
mod net {
    use super::*;

    #[tokio::test]
    async fn matching_keys_connect_and_exchange_data() {
        let mut ips = vec![V4];
        if have_ipv6() {
            ips.push(V6);
        }
        let listener = listener_or_skip!(ips);
        let key = b"s3cr3t-bgp-key";
        for &ip in &ips {
            listener.set_md5(ip, Some(key)).expect("listener key");
            let opts = to(ip, &listener).with_md5_key(key.to_vec());
            let (client, server, remote) = connect_and_accept(&listener, &opts).await;
            assert_eq!(remote.ip(), ip);
            exchange(client, server).await;
        }
    }

    #[tokio::test]
    async fn longest_key_works() {
        let listener = listener_or_skip!([V4]);
        let key = [0xa5u8; MD5_MAX_KEY_LEN];
        listener.set_md5(V4, Some(&key)).expect("listener key");
        let opts = to(V4, &listener).with_md5_key(key.to_vec());
        let (client, server, _) = connect_and_accept(&listener, &opts).await;
        exchange(client, server).await;
    }

    #[tokio::test]
    async fn mismatched_keys_do_not_connect() {
        let mut ips = vec![V4];
        if have_ipv6() {
            ips.push(V6);
        }
        let listener = listener_or_skip!(ips);
        for &ip in &ips {
            listener
                .set_md5(ip, Some(b"key-one"))
                .expect("listener key");
            assert_no_connection(
                &listener,
                to(ip, &listener).with_md5_key(b"key-two".to_vec()),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn key_on_the_listener_only_does_not_connect() {
        let listener = listener_or_skip!([V4]);
        listener
            .set_md5(V4, Some(b"only-here"))
            .expect("listener key");
        assert_no_connection(&listener, to(V4, &listener)).await;
    }

    #[tokio::test]
    async fn key_on_the_connecting_side_only_does_not_connect() {
        let listener = listener_or_skip!([V4]);
        assert_no_connection(
            &listener,
            to(V4, &listener).with_md5_key(b"only-there".to_vec()),
        )
        .await;
    }

    #[tokio::test]
    async fn keys_are_per_peer_address() {
        // Two "peers" on one listener: 127.0.0.2 with a key, 127.0.0.3 without.
        let listener = listener_or_skip!([V4]);
        let keyed = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let open = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        listener.set_md5(keyed, Some(b"peer-two")).expect("key");

        let opts = to(V4, &listener)
            .with_local(keyed)
            .with_md5_key(b"peer-two".to_vec());
        let (client, server, remote) = connect_and_accept(&listener, &opts).await;
        assert_eq!(remote.ip(), keyed);
        exchange(client, server).await;

        let opts = to(V4, &listener).with_local(open);
        let (client, server, remote) = connect_and_accept(&listener, &opts).await;
        assert_eq!(remote.ip(), open);
        exchange(client, server).await;

        // The keyed peer without its key is still refused.
        assert_no_connection(&listener, to(V4, &listener).with_local(keyed)).await;
    }

    #[tokio::test]
    async fn removing_a_key_when_the_peer_is_removed() {
        let listener = listener_or_skip!([V4]);
        listener.set_md5(V4, Some(b"old-key")).expect("key");
        let opts = to(V4, &listener).with_md5_key(b"old-key".to_vec());
        let (client, server, _) = connect_and_accept(&listener, &opts).await;

        listener.set_md5(V4, None).expect("remove");
        // Removing twice is fine (the daemon need not track what it installed).
        listener.set_md5(V4, None).expect("remove again");
        // The established connection keeps its key and still works.
        exchange(client, server).await;
        // New connections: signed ones are refused, unsigned ones accepted.
        assert_no_connection(&listener, opts.clone()).await;
        let (client, server, _) = connect_and_accept(&listener, &to(V4, &listener)).await;
        exchange(client, server).await;
    }

    #[tokio::test]
    async fn bad_key_lengths_are_refused() {
        let listener = listener_or_skip!([V4]);
        let long = [1u8; MD5_MAX_KEY_LEN + 1];
        let err = listener.set_md5(V4, Some(&long)).expect_err("too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let opts = to(V4, &listener).with_md5_key(Vec::new());
        let err = connect(&opts).await.expect_err("empty key");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
