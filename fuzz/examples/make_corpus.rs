//! Writes the seed corpus of every fuzz target to `fuzz/corpus/<target>/`, from bgp-wire's
//! own builders, plus the captured vectors in `bgp-wire/tests/vectors/*/*.hex` if any.
//!
//!     cd fuzz && cargo run --example make_corpus
//!
//! The three corpus directories are emptied first, so the result depends only on this file
//! and the vectors. Every seed is checked to decode before it is written: a seed that does
//! not decode teaches the fuzzer little and usually means the generator is wrong.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use bgp_wire::open::{ExtendedNextHop, LlgrFamily};
use bgp_wire::{
    AddPathMode, Afi, Aggregator, AsPath, AttrFlags, AttrType, AttrValue, Attribute, Capability,
    CapabilityCode, Community, ExtendedCommunity, Family, FamilySet, GracefulRestart, HEADER_LEN,
    LargeCommunity, MpReach, MpUnreach, NextHop, Nlri, Notification, Open, Origin, RefreshSubtype,
    Role, RouteRefresh, Safi, Segment, SegmentType, SessionParams, Update, UpdateBuilder,
    keepalive,
};
use bgp_wire_fuzz::{message_params, session_prefix};
use bytes::Bytes;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TARGETS: [&str; 3] = [
    "decode_message",
    "decode_update_params",
    "open_capabilities",
];

fn main() -> Result<()> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut corpus = Corpus::new(fuzz.join("corpus"))?;

    for (name, open) in opens() {
        let wire = open.encode()?;
        corpus.message(&format!("open-{name}"), &wire)?;
        corpus.open_body(&format!("open-{name}"), &wire)?;
    }
    // Several Capabilities parameters in one OPEN (RFC 5492 §4 allows either form); the
    // encoder always writes one, so only a hand-made seed covers this.
    let mut multi = vec![0xff; 16];
    multi.extend_from_slice(&[0, 0, 1, 4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 4, 14]);
    multi.extend_from_slice(&[2, 6, 1, 4, 0, 2, 0, 1, 2, 4, 2, 0, 70, 0]);
    let len = u16::try_from(multi.len())?.to_be_bytes();
    multi[16..18].copy_from_slice(&len);
    corpus.message("open-several-parameters", &multi)?;
    corpus.open_body("open-several-parameters", &multi)?;

    for (name, params, update) in updates()? {
        let wire = update.encode(&send_params(&params))?;
        corpus.update(&format!("update-{name}"), &params, &wire)?;
    }
    for (name, params, wire) in built_updates()? {
        corpus.update(&format!("update-{name}"), &params, &wire)?;
    }
    for (name, params, wire) in malformed_updates()? {
        corpus.update(&format!("update-{name}"), &params, &wire)?;
    }
    for (name, n) in notifications() {
        corpus.message(&format!("notification-{name}"), &n.encode())?;
    }
    for (name, rr) in route_refreshes() {
        corpus.message(&format!("route-refresh-{name}"), &rr.encode())?;
    }
    corpus.message("keepalive", &keepalive())?;

    let vectors = fuzz.join("../bgp-wire/tests/vectors");
    corpus.vectors(&vectors)?;

    for (target, n, bytes) in corpus.summary() {
        println!("{target}: {n} files, {bytes} bytes");
    }
    Ok(())
}

/// The session an UPDATE seed is encoded with: ADD-PATH sent where it is received.
fn send_params(params: &SessionParams) -> SessionParams {
    SessionParams {
        add_path_send: params.add_path_receive,
        ..*params
    }
}

struct Corpus {
    root: PathBuf,
    counts: Vec<(usize, u64)>,
}

impl Corpus {
    fn new(root: PathBuf) -> Result<Corpus> {
        for t in TARGETS {
            let dir = root.join(t);
            if dir.exists() {
                fs::remove_dir_all(&dir)?;
            }
            fs::create_dir_all(&dir)?;
        }
        Ok(Corpus {
            root,
            counts: vec![(0, 0); TARGETS.len()],
        })
    }

    fn write(&mut self, target: usize, name: &str, data: &[u8]) -> Result<()> {
        let dir = self.root.join(TARGETS[target]);
        let path = dir.join(name);
        if path.exists() {
            return Err(format!("duplicate seed name {}", path.display()).into());
        }
        fs::write(&path, data)?;
        self.counts[target].0 += 1;
        self.counts[target].1 += data.len() as u64;
        Ok(())
    }

    /// A whole message for `decode_message`; must decode with its fixed session.
    fn message(&mut self, name: &str, wire: &[u8]) -> Result<()> {
        bgp_wire::decode(Bytes::copy_from_slice(wire), &message_params())
            .map_err(|e| format!("seed {name} does not decode: {e}"))?;
        self.write(0, name, wire)
    }

    /// An UPDATE for `decode_update_params` (parameter octets + body), and for
    /// `decode_message` when it also decodes with that target's session.
    fn update(&mut self, name: &str, params: &SessionParams, wire: &[u8]) -> Result<()> {
        bgp_wire::UpdateRef::decode(Bytes::copy_from_slice(wire), params)
            .map_err(|e| format!("seed {name} does not decode: {e}"))?;
        let mut input = session_prefix(params).to_vec();
        input.extend_from_slice(wire.get(HEADER_LEN..).unwrap_or(&[]));
        self.write(1, name, &input)?;
        if wire.len() <= message_params().max_message_len()
            && bgp_wire::decode(Bytes::copy_from_slice(wire), &message_params()).is_ok()
        {
            self.write(0, name, wire)?;
        }
        Ok(())
    }

    /// An OPEN body for `open_capabilities`.
    fn open_body(&mut self, name: &str, wire: &[u8]) -> Result<()> {
        Open::decode(wire).map_err(|e| format!("seed {name} does not decode: {e}"))?;
        self.write(2, name, wire.get(HEADER_LEN..).unwrap_or(&[]))
    }

    /// Messages captured from other implementations, one hex file each (whitespace, `:`
    /// and `#` comments ignored). Added whether or not they decode: a real daemon's
    /// message that we reject is an interesting seed.
    fn vectors(&mut self, dir: &Path) -> Result<()> {
        let Ok(groups) = fs::read_dir(dir) else {
            println!("no vectors in {} (skipped)", dir.display());
            return Ok(());
        };
        let mut files: Vec<PathBuf> = Vec::new();
        for group in groups {
            let group = group?.path();
            if !group.is_dir() {
                continue;
            }
            for f in fs::read_dir(&group)? {
                let f = f?.path();
                if f.extension().is_some_and(|e| e == "hex") {
                    files.push(f);
                }
            }
        }
        files.sort();
        for f in files {
            let Some(wire) = read_hex(&f)? else {
                eprintln!("warning: {} is not hex; skipped", f.display());
                continue;
            };
            let group = f
                .parent()
                .and_then(Path::file_name)
                .map(|g| g.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = format!("vector-{group}-{stem}");
            self.write(0, &name, &wire)?;
            match wire.get(18) {
                Some(1) => self.write(2, &name, wire.get(HEADER_LEN..).unwrap_or(&[]))?,
                Some(2) => {
                    let params = vector_session(&f.with_extension("json"))?;
                    let mut input = session_prefix(&params).to_vec();
                    input.extend_from_slice(wire.get(HEADER_LEN..).unwrap_or(&[]));
                    self.write(1, &name, &input)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn summary(&self) -> impl Iterator<Item = (&str, usize, u64)> + '_ {
        TARGETS
            .iter()
            .zip(&self.counts)
            .map(|(t, (n, b))| (*t, *n, *b))
    }
}

/// The session a captured UPDATE was sent on, from the `session` object of the vector's
/// JSON description: `four_octet_as` and `add_path_receive` (family names such as
/// `"ipv4-unicast"`). Without a description: 4-octet AS, no ADD-PATH.
fn vector_session(json: &Path) -> Result<SessionParams> {
    let Ok(text) = fs::read_to_string(json) else {
        return Ok(message_params());
    };
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let session = &value["session"];
    let mut add_path = FamilySet::EMPTY;
    for name in session["add_path_receive"].as_array().into_iter().flatten() {
        let family = match name.as_str() {
            Some("ipv4-unicast") => Family::IPV4_UNICAST,
            Some("ipv6-unicast") => Family::IPV6_UNICAST,
            Some("ipv4-multicast") => Family::IPV4_MULTICAST,
            Some("ipv6-multicast") => Family::IPV6_MULTICAST,
            _ => continue,
        };
        add_path.insert(family);
    }
    Ok(SessionParams::default()
        .with_four_octet_as(session["four_octet_as"].as_bool().unwrap_or(true))
        .with_add_path(add_path, add_path))
}

fn read_hex(path: &Path) -> Result<Option<Vec<u8>>> {
    let text = fs::read_to_string(path)?;
    let digits: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.is_empty()
        || !digits.len().is_multiple_of(2)
        || !digits.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Ok(None);
    }
    let bytes = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16))
        .collect::<std::result::Result<Vec<u8>, _>>()?;
    Ok(Some(bytes))
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().expect("literal IPv4 address")
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("literal IPv6 address")
}

fn nlri(s: &str) -> Nlri {
    Nlri::new(s.parse().expect("literal prefix"))
}

fn nlri_id(s: &str, id: u32) -> Nlri {
    Nlri::with_path_id(s.parse().expect("literal prefix"), id)
}

fn opens() -> Vec<(&'static str, Open)> {
    let all_caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::Multiprotocol(Family::IPV4_MULTICAST),
        Capability::Multiprotocol(Family::new(Afi::L2VPN, Safi::EVPN)),
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::ExtendedNextHop(vec![ExtendedNextHop {
            nlri: Family::IPV4_UNICAST,
            next_hop_afi: Afi::IPV6,
        }]),
        Capability::ExtendedMessage,
        Capability::Role(Role::CUSTOMER),
        Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![(Family::IPV4_UNICAST, true), (Family::IPV6_UNICAST, false)],
        }),
        Capability::AddPath(vec![
            (Family::IPV4_UNICAST, AddPathMode::Both),
            (Family::IPV6_UNICAST, AddPathMode::Receive),
        ]),
        Capability::LongLivedGracefulRestart(vec![LlgrFamily {
            family: Family::IPV4_UNICAST,
            forwarding: true,
            stale_time: 86_400,
        }]),
        Capability::Fqdn {
            hostname: "gw-1".into(),
            domain: "example.net".into(),
        },
        Capability::Unknown {
            code: CapabilityCode(128),
            value: Bytes::from_static(&[1, 2, 3]),
        },
    ];
    // More than 255 octets of capabilities: RFC 9072 extended optional parameters.
    let mut many = all_caps.clone();
    many.extend((0..40u8).map(|i| Capability::Unknown {
        code: CapabilityCode(200),
        value: Bytes::from(vec![i; 4]),
    }));
    vec![
        (
            "all-capabilities",
            Open::new(4_200_000_001, 90, v4("192.0.2.1"), all_caps),
        ),
        (
            "extended-parameters",
            Open::new(65001, 180, v4("192.0.2.2"), many),
        ),
        (
            "two-octet-only",
            Open {
                my_as: 65002,
                hold_time: 0,
                bgp_id: v4("192.0.2.3"),
                capabilities: Vec::new(),
            },
        ),
        (
            "aws-like",
            Open::new(
                64512,
                30,
                v4("169.254.10.1"),
                vec![
                    Capability::Multiprotocol(Family::IPV4_UNICAST),
                    Capability::RouteRefresh,
                    Capability::GracefulRestart(GracefulRestart {
                        restart_time: 120,
                        ..GracefulRestart::default()
                    }),
                ],
            ),
        ),
    ]
}

fn all_attributes(four_octet: bool) -> Vec<Attribute> {
    let mut attrs = vec![
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath {
            segments: vec![
                Segment {
                    kind: SegmentType::ConfedSequence,
                    asns: vec![64600],
                },
                Segment {
                    kind: SegmentType::Sequence,
                    asns: vec![65001, 65002, 65002],
                },
                Segment {
                    kind: SegmentType::Set,
                    asns: vec![64512, 64513],
                },
            ],
        })),
        Attribute::new(AttrValue::NextHop(v4("192.0.2.254"))),
        Attribute::new(AttrValue::Med(100)),
        Attribute::new(AttrValue::LocalPref(200)),
        Attribute::new(AttrValue::AtomicAggregate),
        Attribute::new(AttrValue::Aggregator(Aggregator {
            asn: 65001,
            address: v4("192.0.2.9"),
        })),
        Attribute::new(AttrValue::Communities(vec![
            Community::new(65001, 1),
            Community::NO_EXPORT,
            Community::GRACEFUL_SHUTDOWN,
        ])),
        Attribute::new(AttrValue::OriginatorId(v4("192.0.2.7"))),
        Attribute::new(AttrValue::ClusterList(vec![
            v4("192.0.2.8"),
            v4("192.0.2.6"),
        ])),
        Attribute::new(AttrValue::ExtendedCommunities(vec![
            ExtendedCommunity::route_target(65001, 7),
            ExtendedCommunity([0x43, 0x03, 0, 0, 0, 0, 0, 0x2a]),
        ])),
        Attribute::new(AttrValue::LargeCommunities(vec![LargeCommunity {
            global: 4_200_000_001,
            local1: 1,
            local2: 2,
        }])),
        Attribute::new(AttrValue::Otc(65001)),
        // Unknown optional transitive (AIGP), forwarded with the Partial bit set.
        Attribute {
            flags: AttrFlags(AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE | AttrFlags::PARTIAL),
            value: AttrValue::Raw {
                type_code: AttrType::AIGP,
                value: Bytes::from_static(&[1, 0, 11, 0, 0, 0, 0, 0, 0, 0, 42]),
            },
        },
        // Unknown optional non-transitive.
        Attribute {
            flags: AttrFlags::OPTIONAL_NON_TRANSITIVE,
            value: AttrValue::Raw {
                type_code: AttrType(240),
                value: Bytes::from_static(b"x"),
            },
        },
    ];
    if !four_octet {
        attrs.push(Attribute::new(AttrValue::As4Path(AsPath::sequence([
            65001,
            4_200_000_001,
            65002,
        ]))));
        attrs.push(Attribute::new(AttrValue::As4Aggregator(Aggregator {
            asn: 4_200_000_001,
            address: v4("192.0.2.9"),
        })));
    }
    attrs
}

fn base_attributes() -> Vec<Attribute> {
    vec![
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence([65001]))),
    ]
}

fn with(mut attrs: Vec<Attribute>, extra: AttrValue) -> Vec<Attribute> {
    attrs.push(Attribute::new(extra));
    attrs
}

fn updates() -> Result<Vec<(&'static str, SessionParams, Update)>> {
    let ibgp4 = SessionParams::default().with_four_octet_as(true);
    let ebgp4 = ibgp4.with_external(true);
    let ibgp2 = SessionParams::default();
    let mut add_path = FamilySet::EMPTY;
    add_path.insert(Family::IPV4_UNICAST);
    add_path.insert(Family::IPV6_UNICAST);
    let ebgp4_add_path = ebgp4.with_add_path(add_path, add_path);
    let ext_msg = ebgp4.with_extended_message(true);

    let v4_nlri = vec![
        nlri("10.0.0.0/8"),
        nlri("172.16.1.0/24"),
        nlri("192.0.2.1/32"),
        nlri("0.0.0.0/0"),
    ];
    let v6_reach = |next_hop: NextHop, nlri_list: Vec<Nlri>| {
        AttrValue::MpReach(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop,
            nlri: nlri_list,
            raw_nlri: Bytes::new(),
        })
    };
    let link_local = NextHop::V6 {
        global: v6("2001:db8::1"),
        link_local: Some(v6("fe80::1")),
    };

    Ok(vec![
        (
            "all-attributes-4octet",
            ibgp4,
            Update {
                withdrawn: vec![nlri("198.51.100.0/24")],
                attributes: all_attributes(true),
                nlri: v4_nlri.clone(),
            },
        ),
        (
            "all-attributes-2octet-as4",
            ibgp2,
            Update {
                withdrawn: Vec::new(),
                attributes: all_attributes(false),
                nlri: v4_nlri.clone(),
            },
        ),
        (
            "ebgp-simple",
            ebgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(base_attributes(), AttrValue::NextHop(v4("169.254.10.1"))),
                nlri: vec![nlri("10.1.0.0/16")],
            },
        ),
        (
            "withdraw-only",
            ebgp4,
            Update {
                withdrawn: v4_nlri.clone(),
                attributes: Vec::new(),
                nlri: Vec::new(),
            },
        ),
        (
            "ipv6-link-local-next-hop",
            ebgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    base_attributes(),
                    v6_reach(
                        link_local.clone(),
                        vec![
                            nlri("2001:db8:1::/48"),
                            nlri("::/0"),
                            nlri("2001:db8::1/128"),
                        ],
                    ),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "ipv6-global-next-hop",
            ibgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    with(base_attributes(), AttrValue::LocalPref(100)),
                    v6_reach(
                        NextHop::V6 {
                            global: v6("2001:db8::2"),
                            link_local: None,
                        },
                        vec![nlri("2001:db8:2::/48")],
                    ),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "ipv6-unreach",
            ebgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: vec![Attribute::new(AttrValue::MpUnreach(MpUnreach {
                    family: Family::IPV6_UNICAST,
                    withdrawn: vec![nlri("2001:db8:1::/48"), nlri("2001:db8:3::/64")],
                    raw_withdrawn: Bytes::new(),
                }))],
                nlri: Vec::new(),
            },
        ),
        (
            "ipv4-over-ipv6-next-hop",
            ebgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    base_attributes(),
                    AttrValue::MpReach(MpReach {
                        family: Family::IPV4_UNICAST,
                        next_hop: link_local.clone(),
                        nlri: vec![nlri("10.2.0.0/16")],
                        raw_nlri: Bytes::new(),
                    }),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "ipv4-multicast",
            ebgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    base_attributes(),
                    AttrValue::MpReach(MpReach {
                        family: Family::IPV4_MULTICAST,
                        next_hop: NextHop::V4(v4("192.0.2.254")),
                        nlri: vec![nlri("232.0.0.0/8")],
                        raw_nlri: Bytes::new(),
                    }),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "evpn-raw",
            ibgp4,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    with(base_attributes(), AttrValue::LocalPref(100)),
                    AttrValue::MpReach(MpReach {
                        family: Family::new(Afi::L2VPN, Safi::EVPN),
                        next_hop: NextHop::Raw(Bytes::from_static(&[192, 0, 2, 1])),
                        nlri: Vec::new(),
                        raw_nlri: Bytes::from_static(&[
                            3, 17, 0, 1, 192, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 32, 192, 0, 2, 1,
                        ]),
                    }),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "add-path-ipv4",
            ebgp4_add_path,
            Update {
                withdrawn: vec![nlri_id("10.9.0.0/16", 3)],
                attributes: with(base_attributes(), AttrValue::NextHop(v4("169.254.10.1"))),
                nlri: vec![nlri_id("10.1.0.0/16", 1), nlri_id("10.1.0.0/16", 2)],
            },
        ),
        (
            "add-path-ipv6",
            ebgp4_add_path,
            Update {
                withdrawn: Vec::new(),
                attributes: with(
                    base_attributes(),
                    v6_reach(
                        link_local,
                        vec![nlri_id("2001:db8:1::/48", 1), nlri_id("2001:db8:1::/48", 7)],
                    ),
                ),
                nlri: Vec::new(),
            },
        ),
        (
            "end-of-rib-ipv4",
            ebgp4,
            Update::end_of_rib(Family::IPV4_UNICAST),
        ),
        (
            "end-of-rib-ipv6",
            ebgp4,
            Update::end_of_rib(Family::IPV6_UNICAST),
        ),
        (
            "extended-message",
            ext_msg,
            Update {
                withdrawn: Vec::new(),
                // > 4096 octets: only an extended-message session takes it.
                attributes: with(
                    with(base_attributes(), AttrValue::NextHop(v4("169.254.10.1"))),
                    AttrValue::Communities((0..1100).map(|i| Community::new(65001, i)).collect()),
                ),
                nlri: vec![nlri("10.3.0.0/16")],
            },
        ),
    ])
}

/// Output of `UpdateBuilder`, as a speaker sends it (attributes sorted, MP_REACH first).
fn built_updates() -> Result<Vec<(&'static str, SessionParams, Bytes)>> {
    let ebgp4 = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    let mut out = Vec::new();
    let v4 = UpdateBuilder::announce(
        &ebgp4,
        Family::IPV4_UNICAST,
        NextHop::V4(v4("169.254.10.1")),
        &all_attributes(true)
            .into_iter()
            .filter(|a| a.value.type_code() != AttrType::LOCAL_PREF)
            .collect::<Vec<_>>(),
    )?;
    let prefixes = (0..40u32).map(|i| nlri(&format!("10.{i}.0.0/16")));
    let first = v4
        .messages(prefixes)?
        .into_iter()
        .next()
        .ok_or("no message")?;
    out.push(("builder-ipv4", ebgp4, first));
    let v6 = UpdateBuilder::announce(
        &ebgp4,
        Family::IPV6_UNICAST,
        NextHop::V6 {
            global: v6("2001:db8::1"),
            link_local: Some(v6("fe80::1")),
        },
        &base_attributes(),
    )?;
    let prefixes = (0..20u32).map(|i| nlri(&format!("2001:db8:{i:x}::/48")));
    let first = v6
        .messages(prefixes)?
        .into_iter()
        .next()
        .ok_or("no message")?;
    out.push(("builder-ipv6", ebgp4, first));
    let withdraw = UpdateBuilder::withdraw(&ebgp4, Family::IPV6_UNICAST);
    let first = withdraw
        .messages([nlri("2001:db8:5::/48")])?
        .into_iter()
        .next()
        .ok_or("no message")?;
    out.push(("builder-ipv6-withdraw", ebgp4, first));
    Ok(out)
}

/// UPDATEs that decode with RFC 7606 outcomes, so the error paths start covered.
fn malformed_updates() -> Result<Vec<(&'static str, SessionParams, Bytes)>> {
    let ebgp4 = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    let simple = Update {
        withdrawn: Vec::new(),
        attributes: with(base_attributes(), AttrValue::NextHop(v4("169.254.10.1"))),
        nlri: vec![nlri("10.1.0.0/16")],
    };
    let wire = simple.encode(&ebgp4)?.to_vec();
    // Attributes start after header, withdrawn length (0) and total attribute length:
    // ORIGIN is at 23..27 (flags, type, length 1, value).
    let mut bad_origin = wire.clone();
    bad_origin[26] = 7; // ORIGIN 7: treat-as-withdraw
    let mut bad_flags = wire.clone();
    bad_flags[23] = 0xc0; // ORIGIN flagged optional: attribute flags error
    let mut missing = wire.clone();
    missing[24] = 99; // ORIGIN becomes an unknown type... which is well-known flagged
    missing[23] = 0xc0; // ...so make it optional transitive: ORIGIN is now missing
    let mut ebgp_local_pref = Update {
        attributes: with(simple.attributes.clone(), AttrValue::LocalPref(100)),
        ..simple.clone()
    };
    ebgp_local_pref
        .attributes
        .push(Attribute::new(AttrValue::Med(5)));
    Ok(vec![
        ("treat-as-withdraw-origin", ebgp4, Bytes::from(bad_origin)),
        ("attribute-flags-error", ebgp4, Bytes::from(bad_flags)),
        ("missing-origin", ebgp4, Bytes::from(missing)),
        // Encoded for iBGP, decoded as eBGP: LOCAL_PREF is discarded (RFC 7606 §7.5).
        (
            "ebgp-local-pref",
            ebgp4,
            ebgp_local_pref.encode(&SessionParams {
                external: false,
                ..ebgp4
            })?,
        ),
    ])
}

fn notifications() -> Vec<(&'static str, Notification)> {
    vec![
        (
            "admin-shutdown",
            Notification::administrative_shutdown("maintenance window: back at 03:00 UTC", false),
        ),
        (
            "admin-reset",
            Notification::administrative_shutdown("", true),
        ),
        ("hold-timer-expired", Notification::hold_timer_expired()),
        (
            "max-prefixes",
            Notification::max_prefixes(Afi::IPV4, Safi::UNICAST, 100),
        ),
        (
            "bad-message-length",
            bgp_wire::Error::BadMessageLength { length: 4097 }.notification(),
        ),
        (
            "update-error-with-attribute",
            Notification::new(
                bgp_wire::ErrorCode::UPDATE_MESSAGE,
                6,
                Bytes::from_static(&[0x40, 1, 1, 7]),
            ),
        ),
    ]
}

fn route_refreshes() -> Vec<(&'static str, RouteRefresh)> {
    vec![
        ("request-ipv4", RouteRefresh::request(Family::IPV4_UNICAST)),
        (
            "borr-ipv6",
            RouteRefresh {
                family: Family::IPV6_UNICAST,
                subtype: RefreshSubtype::BEGIN,
            },
        ),
        (
            "eorr-ipv6",
            RouteRefresh {
                family: Family::IPV6_UNICAST,
                subtype: RefreshSubtype::END,
            },
        ),
    ]
}
