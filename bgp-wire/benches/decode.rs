//! Full-table decode and encode benchmarks.
//!
//! The table is `bgp_tablegen::TableSpec::full()`: 1,000,000 IPv4 + 200,000 IPv6 prefixes in
//! 150,000 attribute sets, DFZ-like prefix lengths, 2–6 hop 4-octet AS paths, MED and
//! communities on some. It is encoded once with `UpdateBuilder` (one attribute set per UPDATE,
//! split where 4096 octets are not enough), then:
//!
//! * `decode/ipv4_prefixes`: the 1,000,000 IPv4 prefixes packed into full 4096-octet UPDATEs
//!   (one attribute set each, as a speaker sends a long run of prefixes sharing a path), decoded
//!   with every prefix walked: the per-prefix cost (target ≤ 4 ns).
//! * `decode/attribute_sets`: the table as a speaker sends it, one UPDATE per attribute set
//!   (148k UPDATEs), decoded with every attribute walked (the NLRI is still validated by the
//!   decoder, not iterated): the per-attribute-set cost (target ≤ 120 ns).
//! * `decode/ipv4_walk_all`: the same per-set UPDATEs with attributes and prefixes walked;
//!   throughput per prefix (both costs together, ~6.75 prefixes per set in this table).
//! * `decode/full_table_walk_all`: IPv4 and IPv6 (MP_REACH_NLRI) together, per prefix.
//! * `encode/full_table`: building every message, throughput in bytes.
//!
//! Run: `cargo bench -p bgp-wire --bench decode`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use bgp_tablegen::{AttrSet, Table, TableSpec};
use bgp_wire::{
    AsPath, AttrValue, Attribute, Community, Family, Message, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder, decode, frame_len,
};
use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn attributes(set: &AttrSet) -> Vec<Attribute> {
    let mut v = vec![
        Attribute::new(AttrValue::Origin(match set.origin {
            0 => Origin::Igp,
            1 => Origin::Egp,
            _ => Origin::Incomplete,
        })),
        Attribute::new(AttrValue::AsPath(AsPath::sequence(
            set.as_path.iter().copied(),
        ))),
    ];
    if let Some(med) = set.med {
        v.push(Attribute::new(AttrValue::Med(med)));
    }
    if !set.communities.is_empty() {
        v.push(Attribute::new(AttrValue::Communities(
            set.communities.iter().map(|&c| Community(c)).collect(),
        )));
    }
    v
}

struct Encoded {
    v4: Vec<Bytes>,
    v6: Vec<Bytes>,
    v4_prefixes: u64,
    v6_prefixes: u64,
    bytes: u64,
}

fn encode_table(table: &Table, params: &SessionParams) -> Encoded {
    let mut out = BytesMut::new();
    let mut v4 = Vec::new();
    for (set, run) in table.ipv4_groups() {
        let s = &table.sets[set as usize];
        let b = UpdateBuilder::announce(
            params,
            Family::IPV4_UNICAST,
            NextHop::V4(s.next_hop_v4),
            &attributes(s),
        )
        .unwrap();
        b.encode(run.iter().map(|(p, _)| Nlri::from(*p)), &mut out)
            .unwrap();
        v4.extend(split(&mut out));
    }
    let mut v6 = Vec::new();
    for (set, run) in table.ipv6_groups() {
        let s = &table.sets[set as usize];
        let nh = NextHop::V6 {
            global: s.next_hop_v6,
            link_local: None,
        };
        let b = UpdateBuilder::announce(params, Family::IPV6_UNICAST, nh, &attributes(s)).unwrap();
        b.encode(run.iter().map(|(p, _)| Nlri::from(*p)), &mut out)
            .unwrap();
        v6.extend(split(&mut out));
    }
    let bytes = v4.iter().chain(&v6).map(|b| b.len() as u64).sum();
    Encoded {
        v4,
        v6,
        v4_prefixes: table.ipv4.len() as u64,
        v6_prefixes: table.ipv6.len() as u64,
        bytes,
    }
}

fn split(out: &mut BytesMut) -> Vec<Bytes> {
    let mut all = out.split().freeze();
    let mut v = Vec::new();
    while all.len() >= 19 {
        let len = u16::from_be_bytes([all[16], all[17]]) as usize;
        v.push(all.split_to(len));
    }
    v
}

/// All messages back to back in one buffer, as a receiver's read buffer holds them; frames
/// are cut from it with `frame_len` + `slice`, sharing one reference count.
struct Stream {
    buf: Bytes,
    messages: u64,
}

fn stream(msgs: &[Bytes]) -> Stream {
    let mut b = BytesMut::with_capacity(msgs.iter().map(|m| m.len()).sum());
    for m in msgs {
        b.extend_from_slice(m);
    }
    Stream {
        buf: b.freeze(),
        messages: msgs.len() as u64,
    }
}

/// Reads every attribute the table carries; returns a checksum so nothing is optimised out.
#[inline]
fn walk_attributes(u: &bgp_wire::UpdateRef) -> u64 {
    let mut acc = 0u64;
    if let Some(o) = u.origin() {
        acc += o as u64;
    }
    if let Some(p) = u.as_path() {
        for a in p.asns() {
            acc = acc.wrapping_add(u64::from(a));
        }
    }
    if let Some(nh) = u.next_hop() {
        acc ^= u64::from(u32::from(nh));
    }
    acc += u64::from(u.med().unwrap_or(0));
    acc += u64::from(u.local_pref().unwrap_or(0));
    for c in u.communities() {
        acc = acc.wrapping_add(u64::from(c.0));
    }
    for c in u.large_communities() {
        acc = acc.wrapping_add(u64::from(c.global));
    }
    if let Some(NextHop::V6 { global, .. }) = u.mp_reach().map(|m| m.next_hop()) {
        acc ^= u128::from(global) as u64;
    }
    acc
}

#[inline]
fn walk_nlri(u: &bgp_wire::UpdateRef) -> u64 {
    let mut acc = 0u64;
    for n in u.announced() {
        acc = acc.wrapping_add(u64::from(n.prefix.prefix_len()));
        if let ipnet::IpNet::V4(p) = n.prefix {
            acc ^= u64::from(u32::from(p.network()));
        }
    }
    acc
}

fn decode_all(stream: &Stream, params: &SessionParams, nlri: bool) -> u64 {
    let mut acc = 0u64;
    let mut at = 0;
    let max = params.max_message_len();
    while let Ok(Some(len)) = frame_len(&stream.buf[at..], max) {
        let frame = stream.buf.slice(at..at + len);
        at += len;
        match decode(frame, params) {
            Ok(Message::Update(u)) => {
                acc = acc.wrapping_add(walk_attributes(&u));
                if nlri {
                    acc = acc.wrapping_add(walk_nlri(&u));
                }
            }
            _ => unreachable!("bench input is valid"),
        }
    }
    acc
}

fn decode_count(stream: &Stream, params: &SessionParams) -> u64 {
    let mut at = 0;
    let mut n = 0;
    while let Ok(Some(len)) = frame_len(&stream.buf[at..], params.max_message_len()) {
        assert!(matches!(
            decode(stream.buf.slice(at..at + len), params),
            Ok(Message::Update(_))
        ));
        at += len;
        n += 1;
    }
    n
}

fn benches(c: &mut Criterion) {
    let table = Table::generate(TableSpec::full());
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    let enc = encode_table(&table, &params);
    eprintln!(
        "table: {} IPv4 + {} IPv6 prefixes, {} attribute sets, {} + {} UPDATEs, {} MB",
        enc.v4_prefixes,
        enc.v6_prefixes,
        table.sets.len(),
        enc.v4.len(),
        enc.v6.len(),
        enc.bytes / 1_000_000
    );

    let mut g = c.benchmark_group("decode");
    g.sample_size(20);
    let v4 = stream(&enc.v4);
    let all: Vec<Bytes> = enc.v4.iter().chain(&enc.v6).cloned().collect();
    let all = stream(&all);
    assert_eq!(decode_count(&v4, &params), v4.messages);
    // All IPv4 prefixes behind one attribute set, packed by the builder.
    let first = &table.sets[0];
    let packed = UpdateBuilder::announce(
        &params,
        Family::IPV4_UNICAST,
        NextHop::V4(first.next_hop_v4),
        &attributes(first),
    )
    .unwrap()
    .messages(table.ipv4.iter().map(|(p, _)| Nlri::from(*p)))
    .unwrap();
    let packed = stream(&packed);
    g.throughput(Throughput::Elements(enc.v4_prefixes));
    g.bench_function("ipv4_prefixes", |b| {
        b.iter(|| black_box(decode_all(black_box(&packed), &params, true)))
    });
    g.throughput(Throughput::Elements(v4.messages));
    g.bench_function("attribute_sets", |b| {
        b.iter(|| black_box(decode_all(black_box(&v4), &params, false)))
    });
    g.throughput(Throughput::Elements(enc.v4_prefixes));
    g.bench_function("ipv4_walk_all", |b| {
        b.iter(|| black_box(decode_all(black_box(&v4), &params, true)))
    });
    g.throughput(Throughput::Elements(enc.v4_prefixes + enc.v6_prefixes));
    g.bench_function("full_table_walk_all", |b| {
        b.iter(|| black_box(decode_all(black_box(&all), &params, true)))
    });
    g.finish();

    let mut g = c.benchmark_group("encode");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(enc.bytes));
    g.bench_function("full_table", |b| {
        b.iter(|| black_box(encode_table(&table, &params).bytes))
    });
    g.finish();
}

criterion_group!(decode_benches, benches);
criterion_main!(decode_benches);
