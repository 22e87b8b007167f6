//! What the `bgp-wire` fuzz targets share: how an input becomes a message and session
//! parameters, and the checks run on everything that decodes.
//!
//! The targets in `fuzz_targets/` stay a few lines each; the work is here so that all of
//! them check the same properties:
//!
//! * decoding never panics, never loops and allocates in proportion to the input only
//!   (libFuzzer's `-rss_limit_mb` / `-malloc_limit_mb` and `-timeout` catch the last two);
//! * every accessor of a checked view answers without panicking (conventions §2, §4);
//! * every decode error converts to a NOTIFICATION that encodes;
//! * round trip: the owned form of a decoded message encodes with the same session
//!   parameters, decodes again, and gives the same owned form
//!   (`decode(encode(decode(x))) == decode(x)`); encoding that owned form again gives the
//!   same bytes (the encoding is canonical);
//! * every `encoded_len` agrees with the bytes the encoder writes.
//!
//! The corpus generator (`examples/make_corpus.rs`) uses [`session_prefix`] and
//! [`message_params`] to write inputs in the formats the targets read.

use std::hint::black_box;

use bgp_wire::{
    AttrFlags, AttrValue, Capability, CapabilityCode, Error, ErrorAction, Family, FamilySet,
    HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, Message, NextHop, Open, SessionParams,
    UpdateRef, frame_len, merge_as4,
};
use bytes::{BufMut, Bytes, BytesMut};

/// The session `decode_message` decodes with: 4-octet AS, no ADD-PATH, 4096-octet messages,
/// internal peer (so LOCAL_PREF and confederation segments are accepted, not discarded).
pub fn message_params() -> SessionParams {
    SessionParams::default().with_four_octet_as(true)
}

/// The IP families an input can turn ADD-PATH on for, in the bit order of the second
/// parameter octet of `decode_update_params` inputs.
const ADD_PATH_FAMILIES: [Family; 4] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::IPV4_MULTICAST,
    Family::IPV6_MULTICAST,
];

/// Reads the two parameter octets that start a `decode_update_params` input and returns
/// the session they describe and the rest of the input (the UPDATE body).
///
/// ```text
/// octet 0: bit 0 four_octet_as, bit 1 external, bit 2 extended_message (others ignored)
/// octet 1: ADD-PATH receive (and send, for the round trip): bit 0 IPv4 unicast,
///          bit 1 IPv6 unicast, bit 2 IPv4 multicast, bit 3 IPv6 multicast
/// ```
pub fn session_from_prefix(data: &[u8]) -> (SessionParams, &[u8]) {
    let (flags, add_path, body) = match data {
        [f, a, rest @ ..] => (*f, *a, rest),
        [f] => (*f, 0, &[][..]),
        [] => (0, 0, &[][..]),
    };
    let families: FamilySet = ADD_PATH_FAMILIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| add_path & (1 << bit) != 0)
        .map(|(_, f)| *f)
        .collect();
    let params = SessionParams::default()
        .with_four_octet_as(flags & 1 != 0)
        .with_external(flags & 2 != 0)
        .with_extended_message(flags & 4 != 0)
        .with_add_path(families, families);
    (params, body)
}

/// The inverse of [`session_from_prefix`], for the corpus generator.
pub fn session_prefix(params: &SessionParams) -> [u8; 2] {
    let flags = u8::from(params.four_octet_as)
        | u8::from(params.external) << 1
        | u8::from(params.extended_message) << 2;
    let add_path = ADD_PATH_FAMILIES
        .iter()
        .enumerate()
        .filter(|(_, f)| params.add_path_receive.contains(**f))
        .fold(0u8, |acc, (bit, _)| acc | 1 << bit);
    [flags, add_path]
}

/// A whole message: marker, length, `message_type`, then `body`. `None` when it would be
/// longer than `max_len` (the fuzzer then learns nothing from that input and moves on).
pub fn with_header(message_type: u8, body: &[u8], max_len: usize) -> Option<Bytes> {
    let len = HEADER_LEN + body.len();
    if len > max_len {
        return None;
    }
    let mut out = BytesMut::with_capacity(len);
    out.put_slice(&[0xff; 16]);
    out.put_u16(u16::try_from(len).ok()?);
    out.put_u8(message_type);
    out.put_slice(body);
    Some(out.freeze())
}

/// `frame_len` on arbitrary bytes: must not panic, and a length it accepts is within the
/// bounds it was given (and 19 ..= 4096 for OPEN and KEEPALIVE).
pub fn check_frame_len(data: &[u8]) {
    for max in [MAX_MESSAGE_LEN, MAX_EXTENDED_MESSAGE_LEN] {
        match frame_len(data, max) {
            Ok(Some(len)) => {
                assert!((HEADER_LEN..=max).contains(&len), "frame_len {len} > {max}");
                assert!(data.len() >= HEADER_LEN);
            }
            Ok(None) => assert!(data.len() < HEADER_LEN),
            Err(e) => check_error(&e),
        }
    }
}

/// A decode error must convert to a NOTIFICATION that encodes, and print.
pub fn check_error(e: &Error) {
    let n = e.notification();
    let wire = n.encode();
    assert!(wire.len() <= MAX_MESSAGE_LEN);
    black_box((e.to_string(), format!("{e:?}"), n.describe()));
}

/// Every check on a decoded message, then the round trip through its owned form.
pub fn check_message(message: &Message, params: &SessionParams) {
    match message {
        Message::Open(open) => check_open(open),
        Message::Update(update) => {
            walk_update(update);
            check_update_round_trip(update);
        }
        Message::Notification(n) => {
            black_box((n.describe(), n.shutdown_communication(), format!("{n:?}")));
            match bgp_wire::decode(n.encode(), params) {
                Ok(Message::Notification(again)) => assert_eq!(&again, n),
                other => panic!("NOTIFICATION {n:?} re-decoded as {other:?}"),
            }
        }
        Message::Keepalive => match bgp_wire::decode(bgp_wire::keepalive(), params) {
            Ok(Message::Keepalive) => {}
            other => panic!("KEEPALIVE re-decoded as {other:?}"),
        },
        Message::RouteRefresh(rr) => {
            black_box(rr.subtype.is_known());
            match bgp_wire::decode(rr.encode(), params) {
                Ok(Message::RouteRefresh(again)) => assert_eq!(&again, rr),
                other => panic!("ROUTE-REFRESH {rr:?} re-decoded as {other:?}"),
            }
        }
    }
    black_box(message.message_type());
}

/// Calls every helper of a decoded OPEN, then checks the round trip.
pub fn check_open(open: &Open) {
    black_box((open.asn(), open.four_octet_as(), open.families()));
    for code in (0..=255).map(CapabilityCode) {
        black_box(open.has(code));
    }
    for c in &open.capabilities {
        assert!(open.has(c.code()));
        match c {
            Capability::Role(r) => {
                black_box(r.expected_peer_role());
            }
            Capability::AddPath(v) => {
                for (_, mode) in v {
                    black_box((mode.can_send(), mode.can_receive()));
                }
            }
            _ => {}
        }
        // encoded_len must match what encode writes.
        let mut out = BytesMut::new();
        if c.encode(&mut out).is_ok() {
            assert_eq!(out.len(), c.encoded_len(), "encoded_len of {c:?}");
        }
    }
    let wire = open
        .encode()
        .unwrap_or_else(|e| panic!("decoded OPEN does not encode ({e}): {open:?}"));
    let again = Open::decode(&wire)
        .unwrap_or_else(|e| panic!("re-encoded OPEN does not decode ({e}): {open:?}"));
    assert_eq!(&again, open, "OPEN round trip");
    let wire2 = again.encode().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wire, wire2, "OPEN encoding is not canonical");
}

/// Reads everything a validated UPDATE view offers. None of it may panic.
pub fn walk_update(u: &UpdateRef) {
    // RFC 7606 session reset is an Err from decode, never an outcome on the view.
    assert_ne!(u.action(), Some(ErrorAction::SessionReset));
    black_box((
        u.action(),
        u.is_treat_as_withdraw(),
        u.end_of_rib(),
        u.params(),
    ));
    for e in u.errors() {
        assert_ne!(e.action, ErrorAction::SessionReset);
        if let Some(n) = &e.notification {
            black_box(n.encode());
        }
        black_box(e.to_string());
    }
    black_box(u.announced().count());
    black_box(u.withdrawn_all().count());
    black_box((u.withdrawn().count(), u.nlri().count()));
    for nlri in u.announced().chain(u.withdrawn_all()) {
        black_box(nlri.encoded_len());
        assert_eq!(
            nlri.prefix,
            nlri.prefix.trunc(),
            "host bits set in {nlri:?}"
        );
    }

    black_box((u.origin(), u.next_hop(), u.med(), u.local_pref()));
    black_box((u.atomic_aggregate(), u.aggregator(), u.as4_aggregator()));
    black_box((u.originator_id(), u.otc()));
    check_len(u.communities());
    check_len(u.cluster_list());
    check_len(u.extended_communities());
    check_len(u.large_communities());
    for c in u.communities() {
        black_box(c.to_string());
    }
    for c in u.extended_communities() {
        black_box((c.type_high(), c.is_transitive(), c.to_string()));
    }
    let as_path = u.as_path().map(|p| {
        for s in p.segments() {
            assert!(!s.is_empty());
            check_len(s.asns());
            black_box((s.kind.is_confed(), s.len()));
        }
        black_box((p.path_len(), p.first_as(), p.contains(0), p.count(0)));
        black_box((p.is_four_octet(), p.as_bytes().len(), p.asns().count()));
        let owned = p.to_owned();
        assert_eq!(owned.path_len(), p.path_len());
        assert_eq!(owned.first_as(), p.first_as());
        black_box(owned.to_string());
        owned
    });
    let as4_path = u.as4_path().map(|p| p.to_owned());
    if let Some(path) = &as_path {
        // The RFC 6793 §4.2.3 merge a 2-octet session would do.
        black_box(merge_as4(
            path,
            as4_path.as_ref(),
            u.aggregator(),
            u.as4_aggregator(),
        ));
        black_box(path.split_for_two_octet());
    }

    if let Some(m) = u.mp_reach() {
        let nh = m.next_hop();
        black_box((m.family, nh.encoded_len(), nh.to_string()));
        black_box((m.nlri().count(), m.raw_nlri().len()));
        if m.family.is_ip() {
            assert!(!matches!(nh, NextHop::Raw(_)), "IP next hop kept raw");
        }
    }
    if let Some(m) = u.mp_unreach() {
        black_box((m.family, m.withdrawn().count(), m.raw_withdrawn().len()));
    }
    for a in u.attributes() {
        let owned = a.to_attribute(u.params());
        // A known type that passed validation must parse: a Raw fallback would not survive
        // the round trip.
        if AttrFlags::expected_for(a.type_code).is_some() {
            assert!(
                !matches!(owned.value, AttrValue::Raw { .. }),
                "validated {:?} fell back to Raw",
                a.type_code
            );
        }
        black_box((a.flags.is_partial(), a.raw.len(), a.value.len()));
    }
    black_box(format!("{u:?}"));
}

/// An `ExactSizeIterator` must yield exactly `len()` items.
fn check_len<I: ExactSizeIterator>(it: I) {
    let n = it.len();
    assert_eq!(it.count(), n, "ExactSizeIterator::len is wrong");
}

/// `decode(encode(u.to_update()))` gives the same owned UPDATE, with the session the view
/// was decoded with (ADD-PATH sent where it is received), and re-encoding it gives the same
/// bytes.
pub fn check_update_round_trip(u: &UpdateRef) {
    let params = *u.params();
    let send = SessionParams {
        add_path_send: params.add_path_receive,
        ..params
    };
    let owned = u.to_update();
    for a in &owned.attributes {
        let mut out = BytesMut::new();
        if a.encode(&send, &mut out).is_ok() {
            assert_eq!(out.len(), a.encoded_len(&send), "encoded_len of {a:?}");
        }
    }
    let wire = owned
        .encode(&send)
        .unwrap_or_else(|e| panic!("decoded UPDATE does not encode ({e}): {owned:?}"));
    let again = UpdateRef::decode(wire.clone(), &params)
        .unwrap_or_else(|e| panic!("re-encoded UPDATE does not decode ({e}): {owned:?}"));
    assert_eq!(again.to_update(), owned, "UPDATE round trip");
    let wire2 = again
        .to_update()
        .encode(&send)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wire, wire2, "UPDATE encoding is not canonical");
    // What survived validation once is clean the second time, except for missing
    // mandatory attributes (still missing) and the ones only the first message had.
    black_box(again.errors().len());
}
