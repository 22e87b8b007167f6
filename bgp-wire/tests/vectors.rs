//! Messages captured on the wire from BIRD, GoBGP, ExaBGP and FRR (see
//! `tests/vectors/README.md`), decoded by this crate and compared with the expected decode
//! written from each daemon's configuration and cross-checked against tshark. Every vector is
//! then re-encoded from the owned form and decoded again, which must give the same values.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_wire::{
    Capability, Family, FamilySet, Message, NextHop, Nlri, SegmentType, SessionParams, UpdateRef,
    decode,
};
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use std::path::Path;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn family_name(f: Family) -> String {
    match f {
        Family::IPV4_UNICAST => "ipv4-unicast".into(),
        Family::IPV6_UNICAST => "ipv6-unicast".into(),
        other => format!("{}/{}", other.afi.0, other.safi.0),
    }
}

fn session(v: &Value) -> SessionParams {
    let mut add_path = FamilySet::EMPTY;
    for f in v["add_path_receive"].as_array().into_iter().flatten() {
        match f.as_str() {
            Some("ipv4-unicast") => add_path.insert(Family::IPV4_UNICAST),
            Some("ipv6-unicast") => add_path.insert(Family::IPV6_UNICAST),
            other => panic!("unknown family {other:?}"),
        };
    }
    // The receivers were internal or external; nothing in the vectors depends on it except
    // LOCAL_PREF, which only the iBGP captures carry.
    SessionParams::default()
        .with_four_octet_as(v["four_octet_as"].as_bool().unwrap_or(true))
        .with_add_path(add_path, add_path)
}

fn prefixes(it: impl Iterator<Item = Nlri>) -> (Vec<Value>, Vec<Value>) {
    let mut p = Vec::new();
    let mut ids = Vec::new();
    for n in it {
        p.push(json!(n.prefix.to_string()));
        if let Some(id) = n.path_id {
            ids.push(json!(id));
        }
    }
    (p, ids)
}

fn segments(p: bgp_wire::AsPathRef<'_>) -> Value {
    Value::Array(
        p.segments()
            .map(|s| {
                let kind = match s.kind {
                    SegmentType::Set => "set",
                    SegmentType::Sequence => "sequence",
                    SegmentType::ConfedSequence => "confed_sequence",
                    SegmentType::ConfedSet => "confed_set",
                };
                json!({"type": kind, "asns": s.asns().collect::<Vec<_>>()})
            })
            .collect(),
    )
}

/// Our decode of an UPDATE, in the vectors' schema.
fn render_update(u: &UpdateRef) -> Value {
    let mut out = serde_json::Map::new();
    let (w, wid) = prefixes(u.withdrawn());
    let (n, nid) = prefixes(u.nlri());
    out.insert("withdrawn".into(), w.into());
    out.insert("withdrawn_path_ids".into(), wid.into());
    out.insert("nlri".into(), n.into());
    out.insert("path_ids".into(), nid.into());
    if let Some(f) = u.end_of_rib() {
        out.insert("eor".into(), family_name(f).into());
    }
    let mut a = serde_json::Map::new();
    if let Some(o) = u.origin() {
        a.insert("origin".into(), json!(o as u8));
    }
    if let Some(p) = u.as_path() {
        a.insert("as_path".into(), segments(p));
    }
    if let Some(p) = u.as4_path() {
        a.insert("as4_path".into(), segments(p));
    }
    if let Some(nh) = u.next_hop() {
        a.insert("next_hop".into(), json!(nh.to_string()));
    }
    if let Some(m) = u.med() {
        a.insert("med".into(), json!(m));
    }
    if let Some(lp) = u.local_pref() {
        a.insert("local_pref".into(), json!(lp));
    }
    if u.atomic_aggregate() {
        a.insert("atomic_aggregate".into(), json!(true));
    }
    if let Some(agg) = u.aggregator() {
        a.insert(
            "aggregator".into(),
            json!({"asn": agg.asn, "address": agg.address.to_string()}),
        );
    }
    let c: Vec<Value> = u
        .communities()
        .map(|c| json!([c.0 >> 16, c.0 & 0xffff]))
        .collect();
    if !c.is_empty() {
        a.insert("communities".into(), c.into());
    }
    let l: Vec<Value> = u
        .large_communities()
        .map(|c| json!([c.global, c.local1, c.local2]))
        .collect();
    if !l.is_empty() {
        a.insert("large_communities".into(), l.into());
    }
    let e: Vec<Value> = u.extended_communities().map(|c| json!(hex(&c.0))).collect();
    if !e.is_empty() {
        a.insert("extended_communities".into(), e.into());
    }
    if let Some(o) = u.originator_id() {
        a.insert("originator_id".into(), json!(o.to_string()));
    }
    let cl: Vec<Value> = u.cluster_list().map(|c| json!(c.to_string())).collect();
    if !cl.is_empty() {
        a.insert("cluster_list".into(), cl.into());
    }
    if let Some(r) = u.mp_reach() {
        let nh = match r.next_hop() {
            NextHop::V4(a) => vec![a.to_string()],
            NextHop::V6 { global, link_local } => {
                let mut v = vec![global.to_string()];
                v.extend(link_local.map(|l| l.to_string()));
                v
            }
            NextHop::Raw(b) => vec![hex(&b)],
        };
        let (p, ids) = prefixes(r.nlri());
        a.insert(
            "mp_reach".into(),
            json!({"afi": r.family.afi.0, "safi": r.family.safi.0, "next_hop": nh, "nlri": p, "path_ids": ids}),
        );
    }
    if let Some(r) = u.mp_unreach() {
        let (p, ids) = prefixes(r.withdrawn());
        a.insert(
            "mp_unreach".into(),
            json!({"afi": r.family.afi.0, "safi": r.family.safi.0, "withdrawn": p, "path_ids": ids}),
        );
    }
    let structured = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 32];
    let other: Vec<Value> = u
        .attributes()
        .filter(|x| !structured.contains(&x.type_code.0))
        .map(|x| json!({"flags": x.flags.0, "type": x.type_code.0, "value": hex(x.value)}))
        .collect();
    if !other.is_empty() {
        a.insert("other".into(), other.into());
    }
    out.insert("attributes".into(), a.into());
    out.into()
}

fn render_capability(c: &Capability) -> Value {
    let mut b = BytesMut::new();
    c.encode(&mut b).unwrap();
    let mut o = json!({"code": c.code().0, "raw": hex(&b[2..])});
    let m = o.as_object_mut().unwrap();
    match c {
        Capability::Multiprotocol(f) => {
            m.insert("afi".into(), json!(f.afi.0));
            m.insert("safi".into(), json!(f.safi.0));
        }
        Capability::FourOctetAs(a) => {
            m.insert("asn".into(), json!(a));
        }
        Capability::GracefulRestart(g) => {
            m.insert("restart_time".into(), json!(g.restart_time));
            m.insert("restart_state".into(), json!(g.restart_state));
            let f: Vec<Value> = g
                .families
                .iter()
                .map(|(f, fwd)| json!({"afi": f.afi.0, "safi": f.safi.0, "forwarding": fwd}))
                .collect();
            m.insert("families".into(), f.into());
        }
        Capability::AddPath(v) => {
            let f: Vec<Value> = v
                .iter()
                .map(|(f, mode)| {
                    let mode = match mode {
                        bgp_wire::AddPathMode::Receive => "receive",
                        bgp_wire::AddPathMode::Send => "send",
                        bgp_wire::AddPathMode::Both => "both",
                    };
                    json!({"afi": f.afi.0, "safi": f.safi.0, "mode": mode})
                })
                .collect();
            m.insert("families".into(), f.into());
        }
        Capability::Fqdn { hostname, domain } => {
            m.insert("hostname".into(), json!(hostname));
            m.insert("domain".into(), json!(domain));
        }
        _ => {}
    }
    o
}

fn render(msg: &Message) -> Value {
    match msg {
        Message::Open(o) => json!({"type": "open", "open": {
            "version": 4, "my_as": o.my_as, "hold_time": o.hold_time, "bgp_id": o.bgp_id.to_string(),
            "capabilities": o.capabilities.iter().map(render_capability).collect::<Vec<_>>(),
        }}),
        Message::Update(u) => json!({"type": "update", "update": render_update(u)}),
        Message::Notification(n) => {
            let mut v = json!({"code": n.code.0, "subcode": n.subcode, "data": hex(&n.data)});
            if let Some(s) = n.shutdown_communication() {
                v["shutdown_message"] = json!(s);
            }
            json!({"type": "notification", "notification": v})
        }
        Message::Keepalive => json!({"type": "keepalive"}),
        Message::RouteRefresh(r) => json!({"type": "route_refresh", "route_refresh": {
            "afi": r.family.afi.0, "safi": r.family.safi.0, "subtype": r.subtype.0}}),
    }
}

/// Every key of `expected` is in `actual` with the same value; arrays match element by
/// element. Empty expected arrays also match absent keys (the capture omits them).
fn check(expected: &Value, actual: &Value, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => check(ev, av, &format!("{path}.{k}"), errors),
                    None if ev.as_array().is_some_and(|x| x.is_empty()) => {}
                    None => errors.push(format!("{path}.{k}: missing, expected {ev}")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!("{path}: expected {expected}, got {actual}"));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                check(ev, av, &format!("{path}[{i}]"), errors);
            }
        }
        _ if expected == actual => {}
        _ => errors.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn reencode(msg: &Message, p: &SessionParams) -> Bytes {
    match msg {
        Message::Open(o) => o.encode().unwrap(),
        Message::Update(u) => u.to_update().encode(p).unwrap(),
        Message::Notification(n) => n.encode(),
        Message::Keepalive => bgp_wire::keepalive(),
        Message::RouteRefresh(r) => r.encode(),
    }
}

#[test]
fn third_party_vectors_decode_as_expected_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = glob(&dir);
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the captured vectors, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut daemons = std::collections::BTreeSet::new();
    for json_path in &files {
        let name = json_path.strip_prefix(&dir).unwrap().display().to_string();
        daemons.insert(name.split('/').next().unwrap().to_string());
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
        let hex_text = std::fs::read_to_string(json_path.with_extension("hex")).unwrap();
        let bytes = Bytes::from(common::unhex(&hex_text));
        let p = session(&expected["session"]);
        let msg = match decode(bytes, &p) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: decode failed: {e}"));
                continue;
            }
        };
        if let Message::Update(u) = &msg
            && !u.errors().is_empty()
        {
            failures.push(format!(
                "{name}: unexpected attribute errors {:?}",
                u.errors()
            ));
        }
        let actual = render(&msg);
        let mut errors = Vec::new();
        let mut wanted = expected.clone();
        for k in ["source", "how", "session"] {
            wanted.as_object_mut().unwrap().remove(k);
        }
        check(&wanted, &actual, "", &mut errors);
        // Re-encode the owned form and decode again: the same values must come back.
        let again = decode(reencode(&msg, &p), &p).unwrap();
        if render(&again) != actual {
            errors.push(format!(
                "round trip changed the decode: {} vs {}",
                render(&again),
                actual
            ));
        }
        failures.extend(errors.into_iter().map(|e| format!("{name}: {e}")));
    }
    assert_eq!(daemons.len(), 4, "vectors from {daemons:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn glob(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(dir).unwrap() {
        let d = d.unwrap().path();
        if d.is_dir() {
            for f in std::fs::read_dir(&d).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "json") {
                    out.push(f);
                }
            }
        }
    }
    out
}

#[test]
fn the_checker_catches_a_wrong_expectation() {
    // Guards the test above against passing vacuously.
    let mut errors = Vec::new();
    check(
        &json!({"a": [1, 2], "b": {"c": 3}}),
        &json!({"a": [1, 2], "b": {"c": 4}}),
        "",
        &mut errors,
    );
    assert_eq!(errors.len(), 1);
    let mut errors = Vec::new();
    check(&json!({"a": [1]}), &json!({"a": [1, 2]}), "", &mut errors);
    assert_eq!(errors.len(), 1);
}
