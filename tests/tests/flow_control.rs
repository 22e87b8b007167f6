//! Adj-RIB-Out flow control: a peer that stops reading does not make the speaker queue
//! encoded UPDATEs without bound, does not hold back the other peers, and gets exactly
//! the current table once it reads again.

use bgp_tests::*;
use bgp_wire::UpdateRef;
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const PREFIXES: u32 = 5_000;

fn prefixes(range: std::ops::Range<u32>) -> Vec<String> {
    range
        .map(|i| format!("{}.{}.{}.0/24", 20 + i / 65_536, (i / 256) % 256, i % 256))
        .collect()
}

/// Applies an UPDATE to a sink's view of what it was sent.
fn apply(view: &mut HashSet<IpNet>, u: &UpdateRef) {
    for n in u.withdrawn_all() {
        view.remove(&n.prefix);
    }
    for n in u.announced() {
        view.insert(n.prefix);
    }
}

/// Reads UPDATEs until the view equals `want` (or the deadline passes).
async fn read_until(peer: &mut RawPeer, view: &mut HashSet<IpNet>, want: &HashSet<IpNet>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while view != want {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "sink holds {} prefixes ({} missing, {} extra), expected {}",
            view.len(),
            want.difference(view).count(),
            view.difference(want).count(),
            want.len()
        );
        let u = peer.next_update(left).await;
        apply(view, &u);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_waits_in_the_change_log() {
    let a_addr = v4(127, 8, 0, 1);
    let (src_addr, slow_addr, fast_addr) = (v4(127, 8, 0, 2), v4(127, 8, 0, 3), v4(127, 8, 0, 4));
    let limit = 32 * 1024;
    let mut c = speaker_config(65080, Ipv4Addr::new(8, 0, 0, 1), &[a_addr]);
    c.out_queue_limit = limit;
    let a = start(c.clone()).await;
    for (addr, asn) in [(src_addr, 65082), (slow_addr, 65083), (fast_addr, 65084)] {
        let mut p = peer_spec(&c, a_addr, addr, asn, 1);
        p.session.passive = true;
        add_peer(&a, p).await;
    }
    let port = port_of(&a, a_addr);
    let remote = SocketAddr::new(a_addr, port);

    let mut slow = RawPeer::connect_with_recv_buffer(slow_addr, remote, Some(4096)).await;
    slow.handshake(raw_open(65083, Ipv4Addr::new(8, 0, 0, 3), false), true)
        .await;
    let mut fast = RawPeer::connect(fast_addr, remote).await;
    fast.handshake(raw_open(65084, Ipv4Addr::new(8, 0, 0, 4), false), true)
        .await;
    let mut src = RawPeer::connect(src_addr, remote).await;
    src.handshake(raw_open(65082, Ipv4Addr::new(8, 0, 0, 2), false), true)
        .await;
    wait_established(&a, slow_addr).await;
    wait_established(&a, fast_addr).await;

    // 5,000 prefixes, each with its own set of 500 communities: 10 MB of UPDATEs per
    // sink, more than twice what the slow sink's sockets can hold (4 MiB of send buffer
    // at most on this kernel's defaults).
    let all = prefixes(0..PREFIXES);
    for (i, p) in all.iter().enumerate() {
        let communities = (0..500u32)
            .map(|k| bgp_wire::Community(((i as u32) << 9) | k))
            .collect();
        let extra = vec![bgp_wire::Attribute::new(bgp_wire::AttrValue::Communities(
            communities,
        ))];
        src.send(&ipv4_update(
            &src.params,
            src_addr_v4(),
            &[65082],
            extra,
            &[p],
        ))
        .await;
    }
    let mut want: HashSet<IpNet> = all.iter().map(|p| net(p)).collect();
    let mut fast_view = HashSet::new();
    read_until(&mut fast, &mut fast_view, &want).await;

    // The slow sink read nothing: what it is owed waits in the change log, not encoded.
    // (The group may be one export pass — a batch of at most 512 UPDATEs — past the
    // limit; without flow control some 6 MB would be queued here.)
    let queued = neighbor(&a, slow_addr).await.stats.queued_bytes;
    assert!(
        queued <= 2 * 1024 * 1024,
        "{queued} octets queued for a peer that reads nothing (limit {limit})"
    );

    // Half the table goes while the slow sink still reads nothing.
    let gone = prefixes(0..PREFIXES / 2);
    for chunk in gone.chunks(900) {
        let w = bgp_wire::Update {
            withdrawn: chunk.iter().map(|p| bgp_wire::Nlri::new(net(p))).collect(),
            attributes: Vec::new(),
            nlri: Vec::new(),
        }
        .encode(&src.params)
        .expect("encode withdrawal");
        src.send(&w).await;
    }
    for p in &gone {
        want.remove(&net(p));
    }
    read_until(&mut fast, &mut fast_view, &want).await;

    // Reading again, the slow sink ends up with exactly the current table.
    let mut slow_view = HashSet::new();
    read_until(&mut slow, &mut slow_view, &want).await;
    assert_eq!(slow_view, fast_view);
    let n = neighbor(&a, slow_addr).await;
    assert_eq!(n.state, "Established");
    a.shutdown("test done").await;
}

fn src_addr_v4() -> Ipv4Addr {
    Ipv4Addr::new(127, 8, 0, 2)
}
