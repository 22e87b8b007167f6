//! Property tests: for generated messages decode(encode(m)) == m, and no input makes any
//! decoder panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp_wire::{
    AddPathMode, Afi, Aggregator, AsPath, AttrFlags, AttrType, AttrValue, Attribute, Capability,
    CapabilityCode, Community, ErrorCode, ExtendedCommunity, Family, FamilySet, GracefulRestart,
    LargeCommunity, Message, MpReach, MpUnreach, NextHop, Nlri, Notification, Open, Origin,
    RefreshSubtype, Role, RouteRefresh, Safi, Segment, SegmentType, SessionParams, Update, decode,
    frame_len,
};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn params() -> impl Strategy<Value = SessionParams> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(four, external, ext_msg, ap4, ap6)| {
            let mut ap = FamilySet::EMPTY;
            if ap4 {
                ap.insert(Family::IPV4_UNICAST);
            }
            if ap6 {
                ap.insert(Family::IPV6_UNICAST);
            }
            SessionParams::default()
                .with_four_octet_as(four)
                .with_external(external)
                .with_extended_message(ext_msg)
                .with_add_path(ap, ap)
        })
}

fn v4_nlri(add_path: bool) -> impl Strategy<Value = Nlri> {
    (any::<u32>(), 0u8..=32, any::<u32>()).prop_map(move |(a, len, id)| {
        let p = IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc());
        if add_path {
            Nlri::with_path_id(p, id)
        } else {
            Nlri::new(p)
        }
    })
}

fn v6_nlri(add_path: bool) -> impl Strategy<Value = Nlri> {
    (any::<u128>(), 0u8..=128, any::<u32>()).prop_map(move |(a, len, id)| {
        let p = IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).unwrap().trunc());
        if add_path {
            Nlri::with_path_id(p, id)
        } else {
            Nlri::new(p)
        }
    })
}

fn asn(four: bool) -> BoxedStrategy<u32> {
    if four {
        any::<u32>().boxed()
    } else {
        (0u32..=65535).boxed()
    }
}

fn as_path(four: bool, confed: bool) -> impl Strategy<Value = AsPath> {
    let kinds = if confed { 1u8..=4 } else { 1u8..=2 };
    prop::collection::vec(
        (kinds, prop::collection::vec(asn(four), 1..8)).prop_map(|(k, asns)| Segment {
            kind: SegmentType::from_code(k).unwrap(),
            asns,
        }),
        0..4,
    )
    .prop_map(|segments| AsPath { segments })
}

fn unicast_v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>()
        .prop_map(Ipv4Addr::from)
        .prop_filter("usable next hop", |a| {
            !a.is_unspecified() && !a.is_broadcast() && !a.is_multicast()
        })
}

/// A valid UPDATE for the session: attributes in ascending type order, each at most once.
fn update(p: SessionParams) -> impl Strategy<Value = Update> {
    let ap4 = p.add_path_send.contains(Family::IPV4_UNICAST);
    let ap6 = p.add_path_send.contains(Family::IPV6_UNICAST);
    let four = p.four_octet_as;
    let opt = |s: BoxedStrategy<AttrValue>| prop::option::weighted(0.5, s);
    let part1 = (
        opt(prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ]
        .prop_map(AttrValue::Origin)
        .boxed()),
        opt(as_path(four, !p.external)
            .prop_map(AttrValue::AsPath)
            .boxed()),
        opt(unicast_v4().prop_map(AttrValue::NextHop).boxed()),
        opt(any::<u32>().prop_map(AttrValue::Med).boxed()),
        opt(any::<u32>().prop_map(AttrValue::LocalPref).boxed()),
        opt(Just(AttrValue::AtomicAggregate).boxed()),
        opt((asn(four), any::<u32>())
            .prop_map(|(asn, a)| {
                AttrValue::Aggregator(Aggregator {
                    asn,
                    address: a.into(),
                })
            })
            .boxed()),
        opt(
            prop::collection::vec(any::<u32>().prop_map(Community), 1..6)
                .prop_map(AttrValue::Communities)
                .boxed(),
        ),
    );
    let part2 = (
        opt(any::<u32>()
            .prop_map(|a| AttrValue::OriginatorId(a.into()))
            .boxed()),
        opt(
            prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 1..4)
                .prop_map(AttrValue::ClusterList)
                .boxed(),
        ),
        opt((
            any::<u128>(),
            prop::option::of(any::<u128>()),
            prop::collection::vec(v6_nlri(ap6), 0..6),
        )
            .prop_map(|(g, ll, nlri)| {
                AttrValue::MpReach(MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: NextHop::V6 {
                        global: g.into(),
                        link_local: ll.map(Into::into),
                    },
                    nlri,
                    raw_nlri: Bytes::new(),
                })
            })
            .boxed()),
        opt(prop::collection::vec(v6_nlri(ap6), 0..6)
            .prop_map(|withdrawn| {
                AttrValue::MpUnreach(MpUnreach {
                    family: Family::IPV6_UNICAST,
                    withdrawn,
                    raw_withdrawn: Bytes::new(),
                })
            })
            .boxed()),
        opt(
            prop::collection::vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 0..4)
                .prop_map(AttrValue::ExtendedCommunities)
                .boxed(),
        ),
        opt(prop::collection::vec(
            any::<(u32, u32, u32)>().prop_map(|(global, local1, local2)| LargeCommunity {
                global,
                local1,
                local2,
            }),
            1..4,
        )
        .prop_map(AttrValue::LargeCommunities)
        .boxed()),
        opt(any::<u32>().prop_map(AttrValue::Otc).boxed()),
        opt((100u8..=200, prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(t, v)| AttrValue::Raw {
                type_code: AttrType(t),
                value: Bytes::from(v),
            })
            .boxed()),
    );
    let as4 = (
        opt(as_path(true, false).prop_map(AttrValue::As4Path).boxed()),
        opt(any::<(u32, u32)>()
            .prop_map(|(asn, a)| {
                AttrValue::As4Aggregator(Aggregator {
                    asn,
                    address: a.into(),
                })
            })
            .boxed()),
    );
    (
        part1,
        part2,
        as4,
        any::<bool>(),
        prop::collection::vec(v4_nlri(ap4), 0..6),
        prop::collection::vec(v4_nlri(ap4), 0..6),
    )
        .prop_map(move |(a, b, c, partial, withdrawn, nlri)| {
            let (o, path, nh, med, lp, atomic, agg, comm) = a;
            let (orig, cl, reach, unreach, ext, large, otc, raw) = b;
            let (as4_path, as4_agg) = c;
            let mut values = vec![o, path, nh, med];
            // RFC 7606 §7.5 discards LOCAL_PREF from external peers; RFC 6793 discards the
            // AS4_ pair between 4-octet speakers: such messages do not round-trip by design.
            values.push(if p.external { None } else { lp });
            values.extend([atomic, agg, comm, orig, cl, reach, unreach, ext]);
            if !p.four_octet_as {
                values.extend([as4_path, as4_agg]);
            }
            values.extend([large, otc, raw]);
            let mut attributes: Vec<Attribute> =
                values.into_iter().flatten().map(Attribute::new).collect();
            attributes.sort_by_key(|a| a.value.type_code());
            for a in &mut attributes {
                if partial && a.flags.is_optional() && a.flags.is_transitive() {
                    a.flags = AttrFlags(a.flags.0 | AttrFlags::PARTIAL);
                }
            }
            Update {
                withdrawn,
                attributes,
                nlri,
            }
        })
}

fn capability() -> impl Strategy<Value = Capability> {
    let family = (
        prop_oneof![Just(Afi::IPV4), Just(Afi::IPV6), any::<u16>().prop_map(Afi)],
        any::<u8>(),
    )
        .prop_map(|(a, s)| Family::new(a, Safi(s)));
    let mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    let known = [1u8, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73];
    prop_oneof![
        family.clone().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(Capability::FourOctetAs),
        any::<u8>().prop_map(|r| Capability::Role(Role(r))),
        prop::collection::vec((family.clone(), mode), 1..4).prop_map(Capability::AddPath),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            prop::collection::vec((family.clone(), any::<bool>()), 0..4)
        )
            .prop_map(
                |(r, n, t, families)| Capability::GracefulRestart(GracefulRestart {
                    restart_state: r,
                    notification: n,
                    restart_time: t,
                    families,
                })
            ),
        prop::collection::vec((family.clone(), any::<bool>(), 0u32..0x0100_0000), 0..4).prop_map(
            |v| {
                Capability::LongLivedGracefulRestart(
                    v.into_iter()
                        .map(
                            |(family, forwarding, stale_time)| bgp_wire::open::LlgrFamily {
                                family,
                                forwarding,
                                stale_time,
                            },
                        )
                        .collect(),
                )
            }
        ),
        ("[a-z0-9-]{0,20}", "[a-z.]{0,20}")
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        prop::collection::vec((family, any::<u16>()), 1..3).prop_map(|v| {
            Capability::ExtendedNextHop(
                v.into_iter()
                    .map(|(nlri, nh)| bgp_wire::open::ExtendedNextHop {
                        nlri,
                        next_hop_afi: Afi(nh),
                    })
                    .collect(),
            )
        }),
        (
            any::<u8>().prop_filter("unknown code", move |c| !known.contains(c)),
            prop::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(code, v)| Capability::Unknown {
                code: CapabilityCode(code),
                value: Bytes::from(v)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Entries in wire form give byte for byte the messages of the entries themselves,
    /// announcements and withdrawals, classic and MP, with or without ADD-PATH and
    /// extended messages; entries of another family are refused.
    #[test]
    fn buffered_nlri_encode_as_the_entries(
        p in params(),
        v6 in any::<bool>(),
        withdraw in any::<bool>(),
        long_path in 0usize..600,
        seed in prop::collection::vec((any::<u128>(), 0u8..=128, any::<u32>(), any::<bool>()), 0..3000),
    ) {
        let family = if v6 { Family::IPV6_UNICAST } else { Family::IPV4_UNICAST };
        let nlri: Vec<Nlri> = seed
            .iter()
            .map(|&(a, len, id, with_id)| {
                let prefix = if v6 {
                    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).unwrap().trunc())
                } else {
                    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a as u32), len % 33).unwrap().trunc())
                };
                if with_id { Nlri::with_path_id(prefix, id) } else { Nlri::new(prefix) }
            })
            .collect();
        let builder = if withdraw {
            bgp_wire::UpdateBuilder::withdraw(&p, family)
        } else {
            let nh = if v6 {
                NextHop::V6 { global: "2001:db8::1".parse().unwrap(), link_local: None }
            } else {
                NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))
            };
            // A long AS_PATH leaves less room for the NLRI of each message.
            let path = AsPath {
                segments: vec![Segment {
                    kind: SegmentType::Sequence,
                    asns: (0..long_path as u32).map(|i| 64512 + i).collect(),
                }],
            };
            let attrs = vec![
                Attribute::new(AttrValue::Origin(Origin::Igp)),
                Attribute::new(AttrValue::AsPath(path)),
            ];
            bgp_wire::UpdateBuilder::announce(&p, family, nh, &attrs).unwrap()
        };
        let mut buf = bgp_wire::NlriBuf::new(&p, family);
        for n in &nlri {
            buf.push(*n).unwrap();
        }
        prop_assert_eq!(buf.len(), nlri.len());
        let (mut one, mut two) = (bytes::BytesMut::new(), bytes::BytesMut::new());
        let a = builder.encode(nlri.iter().copied(), &mut one);
        let b = builder.encode_buf(&buf, &mut two);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(one, two);
        let other = if v6 { "10.0.0.0/8" } else { "2001:db8::/32" };
        prop_assert!(buf.push(Nlri::new(other.parse().unwrap())).is_err());
        prop_assert_eq!(buf.len(), nlri.len());
        // A buffer made for another ADD-PATH setting is refused.
        let mut flipped = p;
        flipped.add_path_send = if p.add_path_send.contains(family) {
            FamilySet::EMPTY
        } else {
            [family].into_iter().collect()
        };
        let wrong = bgp_wire::NlriBuf::new(&flipped, family);
        prop_assert!(builder.encode_buf(&wrong, &mut bytes::BytesMut::new()).is_err());
    }

    #[test]
    fn update_round_trips((p, u) in params().prop_flat_map(|p| (Just(p), update(p)))) {
        let bytes = match u.encode(&p) {
            Ok(b) => b,
            Err(_) => return Ok(()), // larger than the session allows
        };
        let Ok(Message::Update(view)) = decode(bytes.clone(), &p) else {
            panic!("encoded UPDATE did not decode: {bytes:?}");
        };
        prop_assert_eq!(view.to_update(), u);
        // Only a missing mandatory attribute may be reported for a well-formed message.
        prop_assert!(view.errors().iter().all(|e| e.kind == bgp_wire::AttributeErrorKind::Missing), "{:?}", view.errors());
    }

    #[test]
    fn open_round_trips(
        my_as in any::<u16>(),
        hold in prop_oneof![Just(0u16), 3u16..],
        id in 1u32..,
        caps in prop::collection::vec(capability(), 0..24),
    ) {
        let open = Open { my_as, hold_time: hold, bgp_id: id.into(), capabilities: caps };
        let bytes = open.encode().unwrap();
        let Ok(Message::Open(back)) = decode(bytes, &SessionParams::default()) else { panic!() };
        prop_assert_eq!(back, open);
    }

    #[test]
    fn notification_and_route_refresh_round_trip(
        code in any::<u8>(), subcode in any::<u8>(), data in prop::collection::vec(any::<u8>(), 0..200),
        afi in any::<u16>(), safi in any::<u8>(), subtype in any::<u8>(),
    ) {
        let n = Notification::new(ErrorCode(code), subcode, Bytes::from(data));
        let Ok(Message::Notification(back)) = decode(n.encode(), &SessionParams::default()) else { panic!() };
        prop_assert_eq!(back, n);
        let r = RouteRefresh { family: Family::new(Afi(afi), Safi(safi)), subtype: RefreshSubtype(subtype) };
        let Ok(Message::RouteRefresh(back)) = decode(r.encode(), &SessionParams::default()) else { panic!() };
        prop_assert_eq!(back, r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(p in params(), data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = frame_len(&data, p.max_message_len());
        let _ = decode(Bytes::from(data), &p);
    }

    #[test]
    fn arbitrary_bodies_never_panic(
        p in params(),
        t in 1u8..=5,
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        // A valid header in front of random bytes reaches each body decoder.
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(t);
        m.extend_from_slice(&body);
        if let Ok(Message::Update(u)) = decode(Bytes::from(m), &p) {
            // Every accessor of a successfully decoded view must work.
            let _ = (u.origin(), u.as_path().map(|a| a.path_len()), u.next_hop(), u.med(), u.local_pref());
            let _ = (u.aggregator(), u.as4_aggregator(), u.originator_id(), u.otc(), u.end_of_rib());
            let _ = u.communities().count() + u.cluster_list().count() + u.extended_communities().count();
            let _ = u.large_communities().count() + u.announced().count() + u.withdrawn_all().count();
            let _ = u.mp_reach().map(|m| m.next_hop());
            let _ = u.attributes().count();
            let _ = u.to_update();
            let _ = u.action();
        }
    }

    #[test]
    fn mutated_valid_updates_never_panic(
        (p, u) in params().prop_flat_map(|p| (Just(p), update(p))),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let Ok(bytes) = u.encode(&p) else { return Ok(()) };
        let mut m = bytes.to_vec();
        for (i, v) in flips {
            let at = 19 + i.index(m.len() - 19);
            m[at] = v;
        }
        // The next-hop rewriter walks the same bytes without decoding them first.
        let mut copy = m.clone();
        let _ = bgp_wire::rewrite_next_hops(&mut copy, |old| Some(vec![0; old.len()]));
        if let Ok(Message::Update(view)) = decode(Bytes::from(m), &p) {
            let _ = view.to_update();
            let _ = view.announced().count() + view.withdrawn_all().count();
        }
    }

    #[test]
    fn builders_from_arbitrary_attribute_blocks_never_panic_and_frame_what_they_take(
        p in params(),
        data in prop::collection::vec(any::<u8>(), 0..600),
        v6 in any::<bool>(),
    ) {
        let (family, nh, prefix) = if v6 {
            (Family::IPV6_UNICAST, NextHop::V6 { global: Ipv6Addr::LOCALHOST, link_local: None },
             Nlri::new("2001:db8::/32".parse().unwrap()))
        } else {
            (Family::IPV4_UNICAST, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
             Nlri::new("10.0.0.0/8".parse().unwrap()))
        };
        if let Ok(b) = bgp_wire::UpdateBuilder::announce_encoded(&p, family, nh, &data) {
            let mut out = bytes::BytesMut::new();
            prop_assert_eq!(b.encode([prefix], &mut out).unwrap(), 1);
            prop_assert_eq!(frame_len(&out, 65535).unwrap(), Some(out.len()));
            if v6 {
                // MP_REACH_NLRI first, then the block as it was given.
                prop_assert!(out.ends_with(&data));
            } else {
                // The block plus NEXT_HOP (7 octets), then 10.0.0.0/8 (2 octets, after a
                // 4-octet path identifier when ADD-PATH send is on, RFC 7911 §3).
                let attr_len = usize::from(u16::from_be_bytes([out[21], out[22]]));
                let nlri_len = if p.add_path_send.contains(family) { 6 } else { 2 };
                prop_assert_eq!(&out[19..21], &[0u8, 0][..]);
                prop_assert_eq!(attr_len, data.len() + 7);
                prop_assert_eq!(out.len(), 23 + attr_len + nlri_len);
            }
        }
    }

    #[test]
    fn rewriting_next_hops_of_arbitrary_bytes_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut m = data;
        let _ = bgp_wire::rewrite_next_hops(&mut m, |old| Some(vec![7; old.len()]));
    }
}
