//! Byte-vector tests for every message type and capability: hand-assembled bytes in the RFC
//! layouts, decoded and compared field by field, then encoded back to the same bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_wire::{
    AddPathMode, Afi, AsPath, AttrType, AttrValue, Attribute, Capability, CapabilityCode,
    Community, ErrorCode, Family, FamilySet, GracefulRestart, Message, NextHop, Nlri, Open, Origin,
    PackedBuilders, RefreshSubtype, Role, RouteRefresh, Safi, SegmentType, SessionParams, Update,
    UpdateBuilder, decode, keepalive, merge_as4,
};
use bytes::{Bytes, BytesMut};
use common::*;
use std::net::Ipv4Addr;

fn p4() -> SessionParams {
    SessionParams::default().with_four_octet_as(true)
}

#[test]
fn keepalive_bytes() {
    let k = keepalive();
    assert_eq!(&k[..], &[[0xffu8; 16].as_slice(), &[0, 19, 4]].concat()[..]);
    assert!(matches!(decode(k, &p4()), Ok(Message::Keepalive)));
}

#[test]
fn notification_bytes_and_shutdown_text() {
    let m = message(3, &[6, 2, 5, b'b', b'y', b'e', b'!', b'!']);
    let Ok(Message::Notification(n)) = decode(m.clone(), &p4()) else {
        panic!()
    };
    assert_eq!((n.code, n.subcode), (ErrorCode::CEASE, 2));
    assert_eq!(n.shutdown_communication().as_deref(), Some("bye!!"));
    assert_eq!(n.encode(), m);
    assert_eq!(
        n.to_string(),
        "Cease / Administrative Shutdown (6/2): \"bye!!\""
    );
}

#[test]
fn route_refresh_bytes_all_subtypes() {
    for (subtype, bytes) in [
        (0u8, [0, 2, 0, 1]),
        (1, [0, 2, 1, 1]),
        (2, [0, 2, 2, 1]),
        (9, [0, 2, 9, 1]),
    ] {
        let m = message(5, &bytes);
        let Ok(Message::RouteRefresh(r)) = decode(m.clone(), &p4()) else {
            panic!()
        };
        assert_eq!(r.family, Family::IPV6_UNICAST);
        assert_eq!(r.subtype, RefreshSubtype(subtype));
        assert_eq!(r.subtype.is_known(), subtype <= 2);
        assert_eq!(r.encode(), m);
    }
    assert_eq!(
        RouteRefresh::request(Family::IPV4_UNICAST).encode(),
        message(5, &[0, 1, 0, 1])
    );
}

/// An OPEN carrying every capability the crate knows, written out octet by octet.
fn full_open_bytes() -> Vec<u8> {
    let caps: Vec<u8> = [
        &[1, 4, 0, 1, 0, 1][..],                                  // MP IPv4 unicast
        &[1, 4, 0, 2, 0, 1],                                      // MP IPv6 unicast
        &[2, 0],                                                  // route refresh
        &[5, 6, 0, 1, 0, 1, 0, 2], // extended next hop: IPv4 uni over IPv6
        &[6, 0],                   // extended message
        &[9, 1, 3],                // role: customer
        &[64, 10, 0x80 | 0x40, 120, 0, 1, 1, 0x80, 0, 2, 1, 0], // GR R+N, 120 s
        &[65, 4, 0xfa, 0x56, 0xea, 0x01], // 4-octet AS 4200000001
        &[69, 8, 0, 1, 1, 3, 0, 2, 1, 1], // ADD-PATH v4 both, v6 receive
        &[70, 0],                  // enhanced route refresh
        &[71, 7, 0, 1, 1, 0x80, 0, 0x0e, 0x10], // LLGR v4 F, 3600 s
        &[73, 9, 3, b'g', b'w', b'1', 4, b'c', b'o', b'r', b'p'], // FQDN
        &[200, 2, 0xab, 0xcd],     // unknown
    ]
    .concat();
    let mut body = vec![4, 0x5b, 0xa0, 0, 90, 169, 254, 10, 1];
    body.push((caps.len() + 2) as u8);
    body.push(2);
    body.push(caps.len() as u8);
    body.extend_from_slice(&caps);
    message(1, &body).to_vec()
}

#[test]
fn open_with_every_capability() {
    let bytes = Bytes::from(full_open_bytes());
    let Ok(Message::Open(open)) = decode(bytes.clone(), &SessionParams::default()) else {
        panic!()
    };
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(open.hold_time, 90);
    assert_eq!(open.bgp_id, Ipv4Addr::new(169, 254, 10, 1));
    assert_eq!(
        open.families(),
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    let c = &open.capabilities;
    assert_eq!(c.len(), 13);
    assert_eq!(c[2], Capability::RouteRefresh);
    match &c[3] {
        Capability::ExtendedNextHop(v) => {
            assert_eq!(
                (v[0].nlri, v[0].next_hop_afi),
                (Family::IPV4_UNICAST, Afi::IPV6)
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c[4], Capability::ExtendedMessage);
    assert_eq!(c[5], Capability::Role(Role::CUSTOMER));
    assert_eq!(
        c[6],
        Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![(Family::IPV4_UNICAST, true), (Family::IPV6_UNICAST, false)],
        })
    );
    assert_eq!(
        c[8],
        Capability::AddPath(vec![
            (Family::IPV4_UNICAST, AddPathMode::Both),
            (Family::IPV6_UNICAST, AddPathMode::Receive)
        ])
    );
    assert_eq!(c[9], Capability::EnhancedRouteRefresh);
    match &c[10] {
        Capability::LongLivedGracefulRestart(v) => {
            assert_eq!(
                (v[0].family, v[0].forwarding, v[0].stale_time),
                (Family::IPV4_UNICAST, true, 3600)
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c[11],
        Capability::Fqdn {
            hostname: "gw1".into(),
            domain: "corp".into()
        }
    );
    assert_eq!(
        c[12],
        Capability::Unknown {
            code: CapabilityCode(200),
            value: Bytes::from_static(&[0xab, 0xcd])
        }
    );
    assert!(open.has(CapabilityCode::FOUR_OCTET_AS));
    // Encoding gives back the same octets.
    assert_eq!(open.encode().unwrap(), bytes);
}

#[test]
fn open_new_uses_as_trans_for_four_octet_asn() {
    let o = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(1, 1, 1, 1),
        vec![Capability::RouteRefresh],
    );
    assert_eq!(o.my_as, 23456);
    assert_eq!(o.capabilities[0], Capability::FourOctetAs(4_200_000_001));
    let o = Open::new(65000, 90, Ipv4Addr::new(1, 1, 1, 1), vec![]);
    assert_eq!((o.my_as, o.asn()), (65000, 65000));
}

#[test]
fn update_ipv4_all_attributes() {
    let attrs = cat(&[
        &origin_igp(),
        &attr(
            0x40,
            2,
            &[
                2, 2, 0, 0, 0xff, 0xfa, 0, 0, 0xff, 0xbc, 1, 2, 0, 0, 0, 1, 0, 0, 0, 2,
            ],
        ),
        &next_hop([169, 254, 10, 1]),
        &attr(0x80, 4, &[0, 0, 0, 100]),
        &attr(0x40, 5, &[0, 0, 0, 200]),
        &attr(0x40, 6, &[]),
        &attr(0xc0, 7, &[0, 0, 0xff, 0xfa, 10, 0, 0, 1]),
        &attr(0xc0, 8, &[0xff, 0xff, 0xff, 0x01, 0xff, 0xfa, 0, 1]),
        &attr(0x80, 9, &[10, 0, 0, 9]),
        &attr(0x80, 10, &[10, 0, 0, 10]),
        &attr(0xc0, 16, &[0, 2, 0xff, 0xfa, 0, 0, 0, 1]),
        &attr(0xc0, 32, &[0, 0, 0xff, 0xfa, 0, 0, 0, 1, 0, 0, 0, 2]),
        &attr(0xc0, 35, &[0, 0, 0xff, 0xfa]),
        &attr(0xc0, 120, &[9, 9]),
    ]);
    let m = update(&[16, 192, 168], &attrs, &[16, 10, 0, 16, 100, 104]);
    let Ok(Message::Update(u)) = decode(m.clone(), &p4()) else {
        panic!()
    };
    assert!(u.errors().is_empty(), "{:?}", u.errors());
    assert_eq!(
        u.withdrawn()
            .map(|n| n.prefix.to_string())
            .collect::<Vec<_>>(),
        ["192.168.0.0/16"]
    );
    assert_eq!(
        u.nlri().map(|n| n.prefix.to_string()).collect::<Vec<_>>(),
        ["10.0.0.0/16", "100.104.0.0/16"]
    );
    assert_eq!(u.origin(), Some(Origin::Igp));
    let path = u.as_path().unwrap();
    assert_eq!(path.to_owned().to_string(), "65530 65468 {1,2}");
    assert_eq!(path.path_len(), 3);
    assert_eq!(u.next_hop(), Some(Ipv4Addr::new(169, 254, 10, 1)));
    assert_eq!((u.med(), u.local_pref()), (Some(100), Some(200)));
    assert!(u.atomic_aggregate());
    assert_eq!(u.aggregator().unwrap().asn, 65530);
    assert_eq!(
        u.communities().collect::<Vec<_>>(),
        [Community::NO_EXPORT, Community::new(65530, 1)]
    );
    assert_eq!(u.originator_id(), Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(
        u.cluster_list().collect::<Vec<_>>(),
        [Ipv4Addr::new(10, 0, 0, 10)]
    );
    assert_eq!(u.extended_communities().count(), 1);
    assert_eq!(
        u.large_communities().next().unwrap().to_string(),
        "65530:1:2"
    );
    assert_eq!(u.otc(), Some(65530));
    assert_eq!(u.attributes().count(), 14);
    // Owned round trip gives identical bytes (canonical flags, one-octet lengths).
    let owned = u.to_update();
    assert_eq!(owned.encode(&p4()).unwrap(), m);
}

#[test]
fn update_ipv6_mp_reach_with_link_local_and_unreach() {
    let mut mp = vec![0, 2, 1, 32];
    mp.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    mp.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    mp.push(0);
    mp.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    let unreach = attr(0x80, 15, &[0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb9]);
    let m = update(
        &[],
        &cat(&[
            &attr(0x80, 14, &mp),
            &unreach,
            &origin_igp(),
            &as_path4(&[65000]),
        ]),
        &[],
    );
    let Ok(Message::Update(u)) = decode(m.clone(), &p4()) else {
        panic!()
    };
    assert!(u.errors().is_empty());
    let r = u.mp_reach().unwrap();
    assert_eq!(r.family, Family::IPV6_UNICAST);
    assert_eq!(r.next_hop().to_string(), "2001:db8::1 (fe80::1)");
    assert_eq!(
        u.announced()
            .map(|n| n.prefix.to_string())
            .collect::<Vec<_>>(),
        ["2001:db8:1::/48"]
    );
    assert_eq!(
        u.withdrawn_all()
            .map(|n| n.prefix.to_string())
            .collect::<Vec<_>>(),
        ["2001:db9::/32"]
    );
    assert_eq!(u.to_update().encode(&p4()).unwrap(), m);
}

#[test]
fn update_ipv4_nlri_over_ipv6_next_hop_rfc8950() {
    let mut mp = vec![0, 1, 1, 16];
    mp.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    mp.push(0);
    mp.extend_from_slice(&[24, 192, 0, 2]);
    let m = update(
        &[],
        &cat(&[&attr(0x80, 14, &mp), &origin_igp(), &as_path4(&[65000])]),
        &[],
    );
    let Ok(Message::Update(u)) = decode(m, &p4()) else {
        panic!()
    };
    assert!(u.errors().is_empty());
    let r = u.mp_reach().unwrap();
    assert_eq!(r.family, Family::IPV4_UNICAST);
    assert!(matches!(
        r.next_hop(),
        NextHop::V6 {
            link_local: None,
            ..
        }
    ));
    assert_eq!(
        u.announced().next().unwrap().prefix.to_string(),
        "192.0.2.0/24"
    );
}

#[test]
fn end_of_rib_markers() {
    let Ok(Message::Update(u)) = decode(update(&[], &[], &[]), &p4()) else {
        panic!()
    };
    assert_eq!(u.end_of_rib(), Some(Family::IPV4_UNICAST));
    let v6 = update(&[], &attr(0x80, 15, &[0, 2, 1]), &[]);
    let Ok(Message::Update(u)) = decode(v6.clone(), &p4()) else {
        panic!()
    };
    assert_eq!(u.end_of_rib(), Some(Family::IPV6_UNICAST));
    assert_eq!(
        Update::end_of_rib(Family::IPV6_UNICAST)
            .encode(&p4())
            .unwrap(),
        v6
    );
    assert_eq!(
        Update::end_of_rib(Family::IPV4_UNICAST)
            .encode(&p4())
            .unwrap(),
        update(&[], &[], &[])
    );
    // Not EoR: a real withdrawal.
    let Ok(Message::Update(u)) = decode(update(&[8, 10], &[], &[]), &p4()) else {
        panic!()
    };
    assert_eq!(u.end_of_rib(), None);
}

#[test]
fn as4_path_from_two_octet_speaker_merges() {
    let two = SessionParams::default();
    let attrs = cat(&[
        &origin_igp(),
        &as_path2(&[65001, 23456, 65002]),
        &next_hop([192, 0, 2, 1]),
        &attr(0xc0, 17, &[2, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfd, 0xea]),
    ]);
    let Ok(Message::Update(u)) = decode(update(&[], &attrs, &[8, 10]), &two) else {
        panic!()
    };
    let (path, _) = merge_as4(
        &u.as_path().unwrap().to_owned(),
        u.as4_path().map(|p| p.to_owned()).as_ref(),
        u.aggregator(),
        u.as4_aggregator(),
    );
    assert_eq!(path, AsPath::sequence([65001, 4_200_000_001, 65002]));
}

#[test]
fn builder_splits_at_the_negotiated_size_and_every_prefix_arrives_once() {
    let attrs = [
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence([65530]))),
    ];
    let prefixes: Vec<Nlri> = (0..5000u32)
        .map(|i| {
            Nlri::new(
                format!("10.{}.{}.0/24", i / 256 % 256, i % 256)
                    .parse()
                    .unwrap(),
            )
        })
        .collect();
    for (family, nh, params) in [
        (
            Family::IPV4_UNICAST,
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            p4(),
        ),
        (
            Family::IPV4_UNICAST,
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            p4().with_extended_message(true),
        ),
        (
            Family::IPV4_UNICAST,
            NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            },
            p4(),
        ),
    ] {
        let b = UpdateBuilder::announce(&params, family, nh, &attrs).unwrap();
        let msgs = b.messages(prefixes.iter().copied()).unwrap();
        let max = params.max_message_len();
        let mut seen = Vec::new();
        for m in &msgs {
            assert!(m.len() <= max);
            let Ok(Message::Update(u)) = decode(m.clone(), &params) else {
                panic!()
            };
            assert!(u.errors().is_empty());
            assert_eq!(u.origin(), Some(Origin::Igp));
            seen.extend(u.announced());
        }
        assert_eq!(seen, prefixes);
        // As few messages as fit: every message but the last is nearly full.
        let per_msg = prefixes.len().div_ceil(msgs.len());
        assert!(
            msgs.len() == 1 || msgs[0].len() + 8 > max,
            "{} in {}",
            per_msg,
            msgs[0].len()
        );
    }
    // Withdrawals, v4 and v6, ADD-PATH on.
    let mut ap = FamilySet::EMPTY;
    ap.insert(Family::IPV6_UNICAST);
    ap.insert(Family::IPV4_UNICAST);
    let params = p4().with_add_path(ap, ap);
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        let list: Vec<Nlri> = (0..3000u32)
            .map(|i| {
                let p = if family.afi == Afi::IPV4 {
                    format!("10.{}.{}.0/24", i / 256, i % 256)
                } else {
                    format!("2001:db8:{:x}::/48", i)
                };
                Nlri::with_path_id(p.parse().unwrap(), i)
            })
            .collect();
        let msgs = UpdateBuilder::withdraw(&params, family)
            .messages(list.iter().copied())
            .unwrap();
        let mut seen = Vec::new();
        for m in &msgs {
            let Ok(Message::Update(u)) = decode(m.clone(), &params) else {
                panic!()
            };
            seen.extend(u.withdrawn_all());
        }
        assert_eq!(seen, list);
    }
}

#[test]
fn builder_refuses_mismatched_next_hop_and_oversized_attributes() {
    let nh6 = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    assert!(
        UpdateBuilder::announce(
            &p4(),
            Family::IPV6_UNICAST,
            NextHop::V4(Ipv4Addr::LOCALHOST),
            &[]
        )
        .is_err()
    );
    let huge = [Attribute::new(AttrValue::Communities(vec![
        Community(1);
        1100
    ]))];
    let b = UpdateBuilder::announce(&p4(), Family::IPV6_UNICAST, nh6, &huge).unwrap();
    let mut out = BytesMut::new();
    assert!(
        b.encode([Nlri::new("2001:db8::/32".parse().unwrap())], &mut out)
            .is_err()
    );
}

#[test]
fn owned_attribute_forms() {
    let a = Attribute::new(AttrValue::Raw {
        type_code: AttrType(99),
        value: Bytes::from_static(&[1]),
    });
    assert_eq!(a.flags.0, 0xc0);
    let seg = AsPath::sequence([1, 2]);
    assert_eq!(seg.segments[0].kind, SegmentType::Sequence);
    assert_eq!(Family::new(Afi::IPV6, Safi::UNICAST), Family::IPV6_UNICAST);
}

#[test]
fn builder_adds_as4_attributes_for_two_octet_sessions() {
    let two = SessionParams::default();
    let attrs = [
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence([65001, 4_200_000_001]))),
        Attribute::new(AttrValue::Aggregator(bgp_wire::Aggregator {
            asn: 4_200_000_002,
            address: Ipv4Addr::new(192, 0, 2, 9),
        })),
    ];
    let b = UpdateBuilder::announce(
        &two,
        Family::IPV4_UNICAST,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        &attrs,
    )
    .unwrap();
    let msgs = b
        .messages([Nlri::new("10.0.0.0/8".parse().unwrap())])
        .unwrap();
    let Ok(Message::Update(u)) = decode(msgs[0].clone(), &two) else {
        panic!()
    };
    assert!(u.errors().is_empty(), "{:?}", u.errors());
    assert_eq!(
        u.as_path().unwrap().asns().collect::<Vec<_>>(),
        [65001, 23456]
    );
    assert_eq!(u.aggregator().unwrap().asn, 23456);
    // The receiver reconstructs the real values (RFC 6793 §4.2.3).
    let (path, agg) = merge_as4(
        &u.as_path().unwrap().to_owned(),
        u.as4_path().map(|p| p.to_owned()).as_ref(),
        u.aggregator(),
        u.as4_aggregator(),
    );
    assert_eq!(path, AsPath::sequence([65001, 4_200_000_001]));
    assert_eq!(agg.unwrap().asn, 4_200_000_002);
    // A 4-octet session gets no AS4_ attributes.
    let b = UpdateBuilder::announce(
        &p4(),
        Family::IPV4_UNICAST,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        &attrs,
    )
    .unwrap();
    let msgs = b
        .messages([Nlri::new("10.0.0.0/8".parse().unwrap())])
        .unwrap();
    let Ok(Message::Update(u)) = decode(msgs[0].clone(), &p4()) else {
        panic!()
    };
    assert!(u.as4_path().is_none() && u.attributes().all(|a| a.type_code != AttrType::AS4_PATH));
}

/// Attributes for the builder tests: a long AS path puts an extended-length attribute
/// before NEXT_HOP's position in the walk, and communities one after it.
fn long_path_attrs() -> Vec<Attribute> {
    vec![
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence(100_000..100_080))),
        Attribute::new(AttrValue::Med(7)),
        Attribute::new(AttrValue::Communities(vec![Community(0xfde8_0001)])),
    ]
}

fn v4(s: &str) -> NextHop {
    NextHop::V4(s.parse().unwrap())
}

fn v6(s: &str) -> NextHop {
    NextHop::V6 {
        global: s.parse().unwrap(),
        link_local: None,
    }
}

/// `n` distinct /24s (IPv4) or /48s (IPv6).
fn many_prefixes(family: Family, n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let p = if family == Family::IPV6_UNICAST {
                format!("2001:db8:{i:x}::/48")
            } else {
                format!("10.{}.{}.0/24", i / 256, i % 256)
            };
            Nlri::new(p.parse().unwrap())
        })
        .collect()
}

#[test]
fn builder_with_another_next_hop_encodes_like_a_new_builder() {
    let attrs = long_path_attrs();
    let cases = [
        (Family::IPV4_UNICAST, v4("192.0.2.1"), v4("198.51.100.7")),
        (Family::IPV4_UNICAST, v6("2001:db8::1"), v6("2001:db8::2")),
        (Family::IPV6_UNICAST, v6("2001:db8::1"), v6("2001:db8::99")),
    ];
    for (family, first, second) in cases {
        let family_prefixes = many_prefixes(family, 300);
        let base = UpdateBuilder::announce(&p4(), family, first, &attrs).unwrap();
        let derived = base.with_next_hop(&second).expect("same kind of next hop");
        let fresh = UpdateBuilder::announce(&p4(), family, second.clone(), &attrs).unwrap();
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        derived.encode(family_prefixes.clone(), &mut a).unwrap();
        fresh.encode(family_prefixes, &mut b).unwrap();
        assert_eq!(a, b, "{family}");
        let mut one = a.freeze();
        let len = u16::from_be_bytes([one[16], one[17]]) as usize;
        let Message::Update(u) = decode(one.split_to(len), &p4()).unwrap() else {
            panic!("not an UPDATE")
        };
        let nh = match u.mp_reach() {
            Some(m) => m.next_hop(),
            None => NextHop::V4(u.next_hop().unwrap()),
        };
        assert_eq!(nh, second);
    }
    // A change of kind of next hop needs a new builder.
    let classic = UpdateBuilder::announce(&p4(), Family::IPV4_UNICAST, v4("192.0.2.1"), &attrs);
    assert!(classic.unwrap().with_next_hop(&v6("2001:db8::1")).is_none());
    let rfc8950 = UpdateBuilder::announce(&p4(), Family::IPV4_UNICAST, v6("2001:db8::1"), &attrs);
    assert!(rfc8950.unwrap().with_next_hop(&v4("192.0.2.1")).is_none());
    let withdraw = UpdateBuilder::withdraw(&p4(), Family::IPV4_UNICAST);
    assert!(withdraw.with_next_hop(&v4("192.0.2.1")).is_none());
}

#[test]
fn packed_builders_encode_as_the_builders_they_were_made_from() {
    let attrs = long_path_attrs();
    let cases = [
        (
            Family::IPV4_UNICAST,
            [v4("192.0.2.1"), v4("198.51.100.7"), v4("192.0.2.1")],
        ),
        (
            Family::IPV4_UNICAST,
            [v6("2001:db8::1"), v6("2001:db8::2"), v6("2001:db8::1")],
        ),
        (
            Family::IPV6_UNICAST,
            [v6("2001:db8::1"), v6("2001:db8::99"), v6("2001:db8::1")],
        ),
    ];
    for (family, next_hops) in cases {
        let prefixes = many_prefixes(family, 300);
        let mut packed = PackedBuilders::new(&p4(), family);
        // Enough builders to fill more than one 64 KiB chunk.
        let builders: Vec<UpdateBuilder> = (0..2000)
            .map(|i| {
                let nh = next_hops[i % 3].clone();
                let mut a = attrs.clone();
                a.push(Attribute::new(AttrValue::Med(i as u32)));
                UpdateBuilder::announce(&p4(), family, nh, &a).unwrap()
            })
            .collect();
        let ids: Vec<u32> = builders.iter().map(|b| packed.push(b).unwrap()).collect();
        assert_eq!(packed.len(), builders.len());
        let attr_octets: usize = builders.iter().map(|b| b.attribute_bytes().len()).sum();
        assert!(packed.heap_bytes() >= attr_octets + 12 * builders.len());
        assert!(packed.heap_bytes() < 2 * attr_octets + 64 * builders.len());
        for (b, &i) in builders.iter().zip(&ids).step_by(97) {
            let p = packed.get(i).unwrap();
            assert_eq!(p.attribute_bytes(), &b.attribute_bytes()[..]);
            let (mut one, mut two) = (BytesMut::new(), BytesMut::new());
            let n = b.encode(prefixes.clone(), &mut one).unwrap();
            assert_eq!(p.encode(prefixes.clone(), &mut two).unwrap(), n);
            assert_eq!(one, two, "{family} builder {i}");
        }
        assert!(packed.get(ids.len() as u32).is_none());
        packed.clear();
        assert!(packed.is_empty() && packed.get(0).is_none());
    }
    // Only announcements of the store's session and family go in.
    let mut packed = PackedBuilders::new(&p4(), Family::IPV4_UNICAST);
    assert_eq!(
        packed.push(&UpdateBuilder::withdraw(&p4(), Family::IPV4_UNICAST)),
        None
    );
    let two_octet = UpdateBuilder::announce(
        &SessionParams::default(),
        Family::IPV4_UNICAST,
        v4("192.0.2.1"),
        &attrs,
    )
    .unwrap();
    assert_eq!(packed.push(&two_octet), None);
    let v6_builder =
        UpdateBuilder::announce(&p4(), Family::IPV6_UNICAST, v6("2001:db8::1"), &attrs).unwrap();
    assert_eq!(packed.push(&v6_builder), None);
}

#[test]
fn builder_from_encoded_attributes_matches_the_decoded_builder() {
    // Types below and above NEXT_HOP's, an extended-length AS_PATH and an unknown
    // optional transitive attribute at the end.
    let mut attrs = long_path_attrs();
    attrs.push(Attribute {
        flags: bgp_wire::AttrFlags(0xc0),
        value: AttrValue::Raw {
            type_code: AttrType(99),
            value: Bytes::from_static(b"xyz"),
        },
    });
    let mut block = BytesMut::new();
    for a in &attrs {
        a.encode(&p4(), &mut block).unwrap();
    }
    let v4_prefixes = many_prefixes(Family::IPV4_UNICAST, 1200);
    let v6_prefixes = many_prefixes(Family::IPV6_UNICAST, 1200);
    let cases = [
        (Family::IPV4_UNICAST, v4("192.0.2.1"), &v4_prefixes),
        (Family::IPV4_UNICAST, v6("2001:db8::1"), &v4_prefixes),
        (Family::IPV6_UNICAST, v6("2001:db8::1"), &v6_prefixes),
    ];
    for (family, nh, prefixes) in cases {
        let decoded = UpdateBuilder::announce(&p4(), family, nh.clone(), &attrs).unwrap();
        let encoded = UpdateBuilder::announce_encoded(&p4(), family, nh, &block).unwrap();
        assert_eq!(
            encoded.attribute_bytes(),
            decoded.attribute_bytes(),
            "{family}"
        );
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        let n = encoded.encode(prefixes.iter().copied(), &mut a).unwrap();
        decoded.encode(prefixes.iter().copied(), &mut b).unwrap();
        assert!(n > 1, "{family}: the prefixes span several messages");
        assert_eq!(a, b, "{family}");
    }
    // An empty block: NEXT_HOP alone.
    let only_nh =
        UpdateBuilder::announce_encoded(&p4(), Family::IPV4_UNICAST, v4("192.0.2.1"), &[]).unwrap();
    assert_eq!(&only_nh.attribute_bytes()[..], &[0x40, 3, 4, 192, 0, 2, 1]);
    // Blocks that are not what the constructor promises to take.
    let origin = [0x40u8, 1, 1, 0];
    let med = [0x80u8, 4, 4, 0, 0, 0, 7];
    let bad: Vec<(Vec<u8>, usize)> = vec![
        ([&med[..], &origin[..]].concat(), 7),
        ([&origin[..], &origin[..]].concat(), 4), // twice // out of order
        ([&origin[..], &[0x40, 3, 4, 1, 2, 3, 4]].concat(), 4), // NEXT_HOP
        ([&origin[..], &[0x80, 14, 0]].concat(), 4), // MP_REACH_NLRI
        ([&origin[..], &[0x80, 15, 0]].concat(), 4), // MP_UNREACH_NLRI
        (vec![0x40, 1, 2, 0], 0),                 // value cut short
        (vec![0x40, 1], 0),                       // header cut short
        (vec![0x50, 1, 0, 1, 0], 0),              // extended length for 1 octet
    ];
    for (block, at) in bad {
        let r =
            UpdateBuilder::announce_encoded(&p4(), Family::IPV4_UNICAST, v4("192.0.2.1"), &block);
        assert_eq!(
            r.err(),
            Some(bgp_wire::EncodeError::BadAttributeBlock(at)),
            "{block:?}"
        );
    }
    // The next hop must still fit the family.
    let r = UpdateBuilder::announce_encoded(&p4(), Family::IPV6_UNICAST, v4("192.0.2.1"), &origin);
    assert_eq!(
        r.err(),
        Some(bgp_wire::EncodeError::NextHopFamilyMismatch(
            Family::IPV6_UNICAST
        ))
    );
}

#[test]
fn next_hops_are_rewritten_in_place_in_encoded_updates() {
    let attrs = vec![
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence(100_000..100_080))),
    ];
    let v4 = |s: &str| -> Ipv4Addr { s.parse().unwrap() };
    let mut out = BytesMut::new();
    let prefixes: Vec<Nlri> = (0..2000u32)
        .map(|i| Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()))
        .collect();
    let classic = UpdateBuilder::announce(
        &p4(),
        Family::IPV4_UNICAST,
        NextHop::V4(v4("192.0.2.1")),
        &attrs,
    )
    .unwrap();
    let n = classic.encode(prefixes.clone(), &mut out).unwrap();
    assert!(n >= 2);
    let six: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mp = UpdateBuilder::announce(
        &p4(),
        Family::IPV6_UNICAST,
        NextHop::V6 {
            global: six,
            link_local: None,
        },
        &attrs,
    )
    .unwrap();
    mp.encode([Nlri::new("2001:db8:1::/48".parse().unwrap())], &mut out)
        .unwrap();
    let new6: std::net::Ipv6Addr = "2001:db8::99".parse().unwrap();
    let ok = bgp_wire::rewrite_next_hops(&mut out, |old| {
        if old == v4("192.0.2.1").octets() {
            Some(v4("198.51.100.7").octets().to_vec())
        } else if old == six.octets() {
            Some(new6.octets().to_vec())
        } else {
            None
        }
    });
    assert!(ok);
    let mut all = out.freeze();
    let mut seen = 0;
    while !all.is_empty() {
        let len = u16::from_be_bytes([all[16], all[17]]) as usize;
        let Message::Update(u) = decode(all.split_to(len), &p4()).unwrap() else {
            panic!("not an UPDATE")
        };
        match u.mp_reach() {
            Some(m) => assert_eq!(
                m.next_hop(),
                NextHop::V6 {
                    global: new6,
                    link_local: None
                }
            ),
            None => assert_eq!(u.next_hop(), Some(v4("198.51.100.7"))),
        }
        seen += 1;
    }
    assert_eq!(seen, n + 1);
    // A replacement of another length, or bytes that are not UPDATEs, are refused.
    let mut again = BytesMut::new();
    classic.encode(prefixes, &mut again).unwrap();
    assert!(!bgp_wire::rewrite_next_hops(&mut again, |_| Some(vec![
        1, 2, 3
    ])));
    let mut junk = BytesMut::from(&keepalive()[..]);
    assert!(!bgp_wire::rewrite_next_hops(&mut junk, |_| None));
    let mut short = BytesMut::from(&[0xffu8; 10][..]);
    assert!(!bgp_wire::rewrite_next_hops(&mut short, |_| None));
}
