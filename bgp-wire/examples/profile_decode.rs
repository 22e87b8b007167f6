//! Decodes a synthetic table once, for profilers that count instructions.
//!
//! `cargo build --release -p bgp-wire --example profile_decode` then
//! `valgrind --tool=callgrind target/release/examples/profile_decode 0.1` and read the
//! inclusive cost of `walk` divided by the message count it prints. Instruction counts do not
//! depend on what else the machine is doing, unlike the criterion timings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bgp_tablegen::{Table, TableSpec};
use bgp_wire::{
    AsPath, AttrValue, Attribute, Community, Family, Message, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder, decode, frame_len,
};
use bytes::BytesMut;
use std::hint::black_box;

fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.1);
    let table = Table::generate(TableSpec::scaled(scale));
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    let packed = std::env::args().nth(2).as_deref() == Some("packed");
    let mut out = BytesMut::new();
    if packed {
        // Every prefix behind one attribute set: isolates the per-prefix cost.
        let s = &table.sets[0];
        let attrs = vec![
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(
                s.as_path.iter().copied(),
            ))),
        ];
        let b = UpdateBuilder::announce(
            &params,
            Family::IPV4_UNICAST,
            NextHop::V4(s.next_hop_v4),
            &attrs,
        )
        .unwrap();
        b.encode(table.ipv4.iter().map(|(p, _)| Nlri::from(*p)), &mut out)
            .unwrap();
    }
    for (set, run) in table.ipv4_groups().filter(|_| !packed) {
        let s = &table.sets[set as usize];
        let mut attrs = vec![
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(
                s.as_path.iter().copied(),
            ))),
        ];
        if let Some(m) = s.med {
            attrs.push(Attribute::new(AttrValue::Med(m)));
        }
        if !s.communities.is_empty() {
            let c = s.communities.iter().map(|&c| Community(c)).collect();
            attrs.push(Attribute::new(AttrValue::Communities(c)));
        }
        let b = UpdateBuilder::announce(
            &params,
            Family::IPV4_UNICAST,
            NextHop::V4(s.next_hop_v4),
            &attrs,
        )
        .unwrap();
        b.encode(run.iter().map(|(p, _)| Nlri::from(*p)), &mut out)
            .unwrap();
    }
    let buf = out.freeze();
    let (messages, sum) = walk(&buf, &params);
    println!(
        "{messages} messages, {} prefixes, checksum {sum}",
        table.ipv4.len()
    );
}

#[inline(never)]
fn walk(buf: &bytes::Bytes, params: &SessionParams) -> (u64, u64) {
    let mut at = 0;
    let mut n = 0;
    let mut acc = 0u64;
    while let Ok(Some(len)) = frame_len(&buf[at..], params.max_message_len()) {
        let frame = buf.slice(at..at + len);
        at += len;
        n += 1;
        if let Ok(Message::Update(u)) = decode(frame, params) {
            acc += u.as_path().map_or(0, |p| p.asns().map(u64::from).sum());
            acc += u.communities().map(|c| u64::from(c.0)).sum::<u64>();
            acc += u64::from(u.med().unwrap_or(0));
            acc += u.next_hop().map_or(0, |a| u64::from(u32::from(a)));
            for p in u.announced() {
                acc += u64::from(p.prefix.prefix_len());
            }
        }
    }
    (n, black_box(acc))
}
