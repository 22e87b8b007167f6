//! Connect, listen, local address, SO_BINDTODEVICE and GTSM over loopback only
//! (127.0.0.0/8 and ::1).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgpd::net::{ConnectOptions, ListenOptions, Listener, connect, set_ttl_security, split};
use bytes::Bytes;
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Long enough for any loopback handshake; the negative tests wait this long.
const SHORT: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(2);

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn keepalive() -> Bytes {
    bgp_wire::keepalive()
}

fn listener_on(ips: &[IpAddr], options: &ListenOptions) -> Listener {
    let addrs: Vec<SocketAddr> = ips.iter().map(|&ip| SocketAddr::new(ip, 0)).collect();
    Listener::bind(&addrs, options).expect("bind loopback listener")
}

fn port_of(listener: &Listener) -> u16 {
    listener.local_addrs()[0].port()
}

/// Whether ::1 is usable here (some CI containers have IPv6 disabled).
fn have_ipv6() -> bool {
    match std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping the IPv6 part: cannot bind ::1 ({e})");
            false
        }
    }
}

/// Connects with `opts` while accepting on `listener`; returns both ends.
async fn connect_and_accept(
    listener: &Listener,
    opts: &ConnectOptions,
) -> (TcpStream, TcpStream, SocketAddr, SocketAddr) {
    let (client, accepted) = tokio::join!(connect(opts), timeout(WAIT, listener.accept()));
    let client = client.expect("connect");
    let (server, remote, local) = accepted.expect("accepted in time").expect("accept");
    (client, server, remote, local)
}

/// Asserts that connecting with `opts` times out and that nothing is accepted meanwhile.
async fn assert_no_connection(listener: &Listener, opts: &ConnectOptions) {
    let opts = opts.clone().with_connect_timeout(SHORT);
    let (client, accepted) = tokio::join!(connect(&opts), timeout(SHORT, listener.accept()));
    let err = client.expect_err("the handshake must not complete");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(accepted.is_err(), "nothing may be accepted");
}

/// Sends a KEEPALIVE each way through the framing layer.
async fn exchange(client: TcpStream, server: TcpStream) {
    let (mut client_reader, client_sender, client_writer) = split(client, 8);
    let (mut server_reader, server_sender, server_writer) = split(server, 8);
    client_sender.send(keepalive()).await.expect("queue");
    server_sender.send(keepalive()).await.expect("queue");
    let at_server = timeout(WAIT, server_reader.read_message())
        .await
        .expect("in time")
        .expect("read")
        .expect("a message");
    let at_client = timeout(WAIT, client_reader.read_message())
        .await
        .expect("in time")
        .expect("read")
        .expect("a message");
    assert_eq!(at_server, keepalive());
    assert_eq!(at_client, keepalive());
    // Close: both sides flush and send FIN; both readers then see a clean end.
    drop((client_sender, server_sender));
    for writer in [client_writer, server_writer] {
        timeout(WAIT, writer.join())
            .await
            .expect("writer ends")
            .expect("clean shutdown");
    }
    for reader in [&mut client_reader, &mut server_reader] {
        let end = timeout(WAIT, reader.read_message())
            .await
            .expect("in time")
            .expect("clean EOF");
        assert!(end.is_none());
    }
}

/// In a `net` module so `cargo test -p bgpd net` selects these tests by name.
mod net {
    use super::*;

    #[tokio::test]
    async fn listener_on_v4_and_v6_accepts_both_families() {
        let ips: Vec<IpAddr> = if have_ipv6() { vec![V4, V6] } else { vec![V4] };
        let listener = listener_on(&ips, &ListenOptions::default());
        let port = port_of(&listener);
        for &ip in &ips {
            let opts = ConnectOptions::new(SocketAddr::new(ip, port)).with_connect_timeout(WAIT);
            let (client, server, remote, local) = connect_and_accept(&listener, &opts).await;
            // What the daemon needs to match the peer (or refuse it with a log line).
            assert_eq!(remote, client.local_addr().expect("client addr"));
            assert_eq!(local, SocketAddr::new(ip, port));
            assert!(server.nodelay().expect("nodelay"));
            assert!(client.nodelay().expect("nodelay"));
            exchange(client, server).await;
        }
    }

    #[tokio::test]
    async fn connect_binds_the_local_address() {
        // Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 stands in for a tunnel address.
        let listener = listener_on(&[V4], &ListenOptions::default());
        let inside = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let opts = ConnectOptions::new(SocketAddr::new(V4, port_of(&listener)))
            .with_local(inside)
            .with_connect_timeout(WAIT);
        let (client, server, remote, _) = connect_and_accept(&listener, &opts).await;
        assert_eq!(remote.ip(), inside);
        assert_eq!(client.local_addr().expect("addr").ip(), inside);
        exchange(client, server).await;
    }

    #[tokio::test]
    async fn connect_to_a_closed_port_is_refused() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let opts = ConnectOptions::new(SocketAddr::new(V4, port)).with_connect_timeout(WAIT);
        let err = connect(&opts).await.expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn bind_to_device_lo() {
        let listener = listener_on(&[V4], &ListenOptions::default().with_interface("lo"));
        let opts = ConnectOptions::new(SocketAddr::new(V4, port_of(&listener)))
            .with_interface("lo")
            .with_connect_timeout(WAIT);
        let (client, server, _, _) = connect_and_accept(&listener, &opts).await;
        let device = SockRef::from(&client).device().expect("SO_BINDTODEVICE");
        assert_eq!(device.as_deref(), Some(&b"lo"[..]));
        // Accepted sockets inherit the listener's binding.
        let device = SockRef::from(&server).device().expect("SO_BINDTODEVICE");
        assert_eq!(device.as_deref(), Some(&b"lo"[..]));
        exchange(client, server).await;
    }

    #[tokio::test]
    async fn unknown_interface_is_an_error() {
        let opts = ConnectOptions::new(SocketAddr::new(V4, 179)).with_interface("nosuchif0");
        let err = connect(&opts).await.expect_err("no such device");
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
    }

    #[tokio::test]
    async fn gtsm_connection_with_ttl_255_is_accepted() {
        let mut ips = vec![V4];
        if have_ipv6() {
            ips.push(V6);
        }
        let listener = listener_on(&ips, &ListenOptions::default().with_ttl_security(1));
        let port = port_of(&listener);
        for &ip in &ips {
            let opts = ConnectOptions::new(SocketAddr::new(ip, port))
                .with_ttl_security(1)
                .with_connect_timeout(WAIT);
            let (client, server, _, _) = connect_and_accept(&listener, &opts).await;
            for stream in [&client, &server] {
                let sock = SockRef::from(stream);
                if ip.is_ipv6() {
                    assert_eq!(sock.unicast_hops_v6().expect("hops"), 255);
                } else {
                    assert_eq!(sock.ttl_v4().expect("ttl"), 255);
                }
            }
            exchange(client, server).await;
        }
    }

    #[tokio::test]
    async fn gtsm_listener_drops_a_peer_sending_a_lower_ttl() {
        let mut ips = vec![V4];
        if have_ipv6() {
            ips.push(V6);
        }
        let listener = listener_on(&ips, &ListenOptions::default().with_ttl_security(1));
        let port = port_of(&listener);
        for &ip in &ips {
            // TTL 254: as if one router had been crossed.
            let opts = ConnectOptions::new(SocketAddr::new(ip, port)).with_ttl(254);
            assert_no_connection(&listener, &opts).await;
        }
        // Per address: turning GTSM off on one address lets the same peer in there.
        let local = listener.local_addrs()[0];
        listener.set_ttl_security(local, None).expect("gtsm off");
        let opts = ConnectOptions::new(local)
            .with_ttl(254)
            .with_connect_timeout(WAIT);
        let (client, server, _, _) = connect_and_accept(&listener, &opts).await;
        exchange(client, server).await;
    }

    #[tokio::test]
    async fn gtsm_client_needs_a_syn_ack_sent_with_ttl_255() {
        // Our Listener sends with TTL 255 even without GTSM, so a GTSM peer can connect to it.
        let listener = listener_on(&[V4], &ListenOptions::default());
        let opts = ConnectOptions::new(SocketAddr::new(V4, port_of(&listener)))
            .with_ttl_security(1)
            .with_connect_timeout(WAIT);
        let (client, server, _, _) = connect_and_accept(&listener, &opts).await;
        exchange(client, server).await;

        // A listener with the default TTL (64): the GTSM client drops its SYN-ACK.
        let plain = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let opts = ConnectOptions::new(plain.local_addr().expect("addr"))
            .with_ttl_security(1)
            .with_connect_timeout(SHORT);
        let err = connect(&opts).await.expect_err("SYN-ACK dropped");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn gtsm_per_peer_after_accept() {
        // A shared listening address without GTSM; the daemon turns it on for this peer only.
        let listener = listener_on(&[V4], &ListenOptions::default());
        let opts = ConnectOptions::new(SocketAddr::new(V4, port_of(&listener)))
            .with_ttl(254)
            .with_connect_timeout(WAIT);
        let (mut client, mut server, _, _) = connect_and_accept(&listener, &opts).await;
        set_ttl_security(&server, Some(1)).expect("per-peer GTSM");
        assert_eq!(SockRef::from(&server).ttl_v4().expect("ttl"), 255);
        // The peer's segments (TTL 254) are now dropped by the kernel: nothing arrives.
        client.write_all(&keepalive()).await.expect("write");
        let mut buf = [0u8; 19];
        assert!(
            timeout(SHORT, server.read_exact(&mut buf)).await.is_err(),
            "a segment with TTL 254 must not get through"
        );
        // Off again: the retransmission gets through.
        set_ttl_security(&server, None).expect("GTSM off");
        timeout(Duration::from_secs(5), server.read_exact(&mut buf))
            .await
            .expect("retransmission arrives")
            .expect("read");
        assert_eq!(&buf[..], &keepalive()[..]);
        assert!(set_ttl_security(&server, Some(0)).is_err());
    }
}
