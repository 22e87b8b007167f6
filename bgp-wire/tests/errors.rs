//! Every RFC 4271 §6.1–§6.3 error the codec can detect, and every RFC 7606 §7 rule: each
//! test builds the malformed bytes by hand and asserts the exact NOTIFICATION (code,
//! subcode, data) or RFC 7606 outcome.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_wire::{
    AttrType, AttributeErrorKind as K, Error, ErrorAction, Family, FamilySet, Message, Open,
    SessionParams, UpdateRef, decode, frame_len,
};
use bytes::Bytes;
use common::*;

fn ibgp4() -> SessionParams {
    SessionParams::default().with_four_octet_as(true)
}

fn ebgp4() -> SessionParams {
    ibgp4().with_external(true)
}

/// (code, subcode, data) of the NOTIFICATION an error owes the peer.
fn triple(e: &Error) -> (u8, u8, Vec<u8>) {
    let n = e.notification();
    (n.code.0, n.subcode, n.data.to_vec())
}

fn decode_err(m: Bytes, p: &SessionParams) -> (u8, u8, Vec<u8>) {
    match decode(m, p) {
        Err(e) => triple(&e),
        Ok(m) => panic!("expected an error, decoded {m:?}"),
    }
}

fn decode_update(m: Bytes, p: &SessionParams) -> UpdateRef {
    match decode(m, p) {
        Ok(Message::Update(u)) => u,
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

/// The single attribute error of an UPDATE: (type, kind, action, notification triple).
type Outcome = (AttrType, K, ErrorAction, Option<(u8, u8, Vec<u8>)>);

fn only_error(u: &UpdateRef) -> Outcome {
    assert_eq!(u.errors().len(), 1, "errors: {:?}", u.errors());
    let e = &u.errors()[0];
    let n = e
        .notification
        .as_ref()
        .map(|n| (n.code.0, n.subcode, n.data.to_vec()));
    (e.attr_type, e.kind, e.action, n)
}

// ---- RFC 4271 §6.1 Message Header Error -------------------------------------------------

#[test]
fn header_marker_not_all_ones_is_connection_not_synchronized() {
    let mut m = message(4, &[]).to_vec();
    m[0] = 0xfe;
    assert_eq!(decode_err(Bytes::from(m), &ibgp4()), (1, 1, vec![]));
}

#[test]
fn header_bad_lengths_carry_the_length_field() {
    // Below 19, above 4096, KEEPALIVE != 19, OPEN < 29, UPDATE < 23, NOTIFICATION < 21.
    let mut short = vec![0xff; 16];
    short.extend_from_slice(&[0, 18, 4]);
    assert_eq!(
        frame_len(&short, 4096)
            .unwrap_err()
            .notification()
            .data
            .to_vec(),
        vec![0, 18]
    );
    let mut long = vec![0xff; 16];
    long.extend_from_slice(&[0x10, 0x01, 2]);
    let e = frame_len(&long, 4096).unwrap_err();
    assert_eq!(triple(&e), (1, 2, vec![0x10, 0x01]));
    assert_eq!(decode_err(message(4, &[0]), &ibgp4()), (1, 2, vec![0, 20]));
    assert_eq!(
        decode_err(message(1, &[4; 9]), &ibgp4()),
        (1, 2, vec![0, 28])
    );
    assert_eq!(
        decode_err(message(2, &[0, 0, 0]), &ibgp4()),
        (1, 2, vec![0, 22])
    );
    assert_eq!(decode_err(message(3, &[6]), &ibgp4()), (1, 2, vec![0, 20]));
}

#[test]
fn header_extended_message_only_when_negotiated() {
    let body = update(&[], &[], &[]).to_vec();
    let mut big = body[19..].to_vec();
    big.resize(5000 - 19, 0);
    // The padding is NLRI of /0 prefixes: valid, so only the length decides.
    let m = message(2, &big);
    assert_eq!(
        decode_err(m.clone(), &ibgp4()),
        (1, 2, 5000u16.to_be_bytes().to_vec())
    );
    let p = ibgp4().with_extended_message(true);
    assert!(decode(m, &p).is_ok());
}

#[test]
fn header_unknown_type_is_bad_message_type_with_the_type() {
    assert_eq!(decode_err(message(7, &[]), &ibgp4()), (1, 3, vec![7]));
}

#[test]
fn header_length_field_must_match_the_frame() {
    let mut m = message(4, &[]).to_vec();
    m.push(0);
    let e = decode(Bytes::from(m), &ibgp4()).unwrap_err();
    assert_eq!(triple(&e).0, 1);
    assert_eq!(triple(&e).1, 2);
}

// ---- RFC 4271 §6.2 OPEN Message Error ---------------------------------------------------

fn open_body(version: u8, my_as: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    b
}

#[test]
fn open_unsupported_version_data_is_largest_supported() {
    let m = message(1, &open_body(3, 65001, 90, [1, 1, 1, 1], &[]));
    assert_eq!(decode_err(m, &ibgp4()), (2, 1, vec![0, 4]));
}

#[test]
fn open_hold_time_one_or_two_is_unacceptable() {
    for hold in [1, 2] {
        let m = message(1, &open_body(4, 65001, hold, [1, 1, 1, 1], &[]));
        assert_eq!(decode_err(m, &ibgp4()), (2, 6, vec![]));
    }
    for hold in [0, 3] {
        let m = message(1, &open_body(4, 65001, hold, [1, 1, 1, 1], &[]));
        assert!(decode(m, &ibgp4()).is_ok());
    }
}

#[test]
fn open_zero_identifier_is_bad_bgp_identifier() {
    let m = message(1, &open_body(4, 65001, 90, [0, 0, 0, 0], &[]));
    assert_eq!(decode_err(m, &ibgp4()), (2, 3, vec![]));
}

#[test]
fn open_unknown_optional_parameter_is_unsupported() {
    // Type 1 (Authentication, deprecated) is not supported.
    let m = message(1, &open_body(4, 65001, 90, [1, 1, 1, 1], &[1, 1, 0]));
    assert_eq!(decode_err(m, &ibgp4()), (2, 4, vec![]));
}

#[test]
fn open_malformed_parameters_are_unspecific() {
    // Parameter length overruns the parameters field.
    let m = message(
        1,
        &open_body(4, 65001, 90, [1, 1, 1, 1], &[2, 9, 1, 4, 0, 1, 0, 1]),
    );
    assert_eq!(decode_err(m, &ibgp4()), (2, 0, vec![]));
    // Multiprotocol capability of length 3.
    let m = message(
        1,
        &open_body(4, 65001, 90, [1, 1, 1, 1], &[2, 5, 1, 3, 0, 1, 0]),
    );
    assert_eq!(decode_err(m, &ibgp4()), (2, 0, vec![]));
    // Optional parameters length disagrees with the message.
    let mut b = open_body(4, 65001, 90, [1, 1, 1, 1], &[2, 2, 2, 0]);
    b[9] = 3;
    assert_eq!(decode_err(message(1, &b), &ibgp4()), (2, 0, vec![]));
}

#[test]
fn open_extended_optional_parameters_rfc9072() {
    // 70 unknown capabilities of 4 octets: 420 octets of parameters.
    let mut caps = Vec::new();
    for i in 0..70u8 {
        caps.extend_from_slice(&[200, 4, i, 0, 0, 0]);
    }
    // One Capabilities parameter with a 2-octet length (RFC 9072 §2).
    let mut params = vec![2];
    params.extend_from_slice(&(caps.len() as u16).to_be_bytes());
    params.extend_from_slice(&caps);
    let mut b = open_body(4, 65001, 90, [1, 1, 1, 1], &[]);
    b.pop(); // the one-octet length
    b.extend_from_slice(&[255, 255]); // Non-Ext OP Len, Non-Ext OP Type
    b.extend_from_slice(&(params.len() as u16).to_be_bytes());
    b.extend_from_slice(&params);
    let open = Open::decode(&message(1, &b)).unwrap();
    assert_eq!(open.capabilities.len(), 70);
    // Our encoder picks the same format and round-trips.
    let again = Open::decode(&open.encode().unwrap()).unwrap();
    assert_eq!(again, open);
}

// ---- RFC 4271 §6.3 UPDATE Message Error (session reset cases) ---------------------------

#[test]
fn update_withdrawn_length_overrun_is_malformed_attribute_list() {
    let m = message(2, &[0, 9, 8, 10, 0, 0]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 1, vec![]));
}

#[test]
fn update_total_attribute_length_overrun_is_malformed_attribute_list() {
    let m = message(2, &[0, 0, 0, 9, 0x40, 1, 1, 0]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 1, vec![]));
}

#[test]
fn update_bad_nlri_is_invalid_network_field() {
    // RFC 7606 §5.3: prefix length beyond 32, or a field ending mid-prefix.
    let m = update(&[], &mandatory4(), &[33, 1, 2, 3, 4, 5]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 10, vec![]));
    let m = update(&[], &mandatory4(), &[24, 10, 0]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 10, vec![]));
    let m = update(&[40, 1, 2, 3, 4, 5], &[], &[]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 10, vec![]));
}

#[test]
fn update_unrecognized_well_known_attribute_resets_with_the_attribute() {
    let bad = attr(0x40, 99, &[1, 2]);
    let m = update(&[], &cat(&[&mandatory4(), &bad]), &[8, 10]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 2, bad));
}

#[test]
fn update_duplicate_mp_reach_is_malformed_attribute_list() {
    let mp = attr(0x80, 15, &[0, 2, 1]);
    let m = update(&[], &cat(&[&mp, &mp]), &[]);
    assert_eq!(decode_err(m, &ibgp4()), (3, 1, vec![]));
}

#[test]
fn update_mp_reach_too_short_for_afi_safi_resets() {
    // RFC 7606 §7.11: when the AFI/SAFI cannot be determined, session reset.
    let mp = attr(0x80, 14, &[0, 2]);
    let m = update(&[], &mp, &[]);
    let (code, subcode, data) = decode_err(m, &ibgp4());
    assert_eq!((code, subcode, data), (3, 9, mp));
}

// ---- RFC 7606 §3 general rules ----------------------------------------------------------

#[test]
fn rfc7606_3g_duplicate_attribute_keeps_the_first() {
    let m = update(
        &[],
        &cat(&[
            &mandatory4(),
            &attr(0x80, 4, &[0, 0, 0, 5]),
            &attr(0x80, 4, &[0, 0, 0, 9]),
        ]),
        &[8, 10],
    );
    let u = decode_update(m, &ibgp4());
    assert_eq!(u.med(), Some(5));
    let (t, kind, action, _) = only_error(&u);
    assert_eq!(
        (t, kind, action),
        (
            AttrType::MULTI_EXIT_DISC,
            K::Duplicate,
            ErrorAction::AttributeDiscard
        )
    );
    assert_eq!(
        u.attributes()
            .filter(|a| a.type_code == AttrType::MULTI_EXIT_DISC)
            .count(),
        1
    );
}

#[test]
fn rfc7606_3d_missing_well_known_is_treat_as_withdraw_with_type_code() {
    for (missing, attrs) in [
        (1u8, cat(&[&as_path4(&[1]), &next_hop([192, 0, 2, 1])])),
        (2, cat(&[&origin_igp(), &next_hop([192, 0, 2, 1])])),
        (3, cat(&[&origin_igp(), &as_path4(&[1])])),
    ] {
        let u = decode_update(update(&[], &attrs, &[8, 10]), &ibgp4());
        let (t, kind, action, n) = only_error(&u);
        assert_eq!(t, AttrType(missing));
        assert_eq!((kind, action), (K::Missing, ErrorAction::TreatAsWithdraw));
        assert_eq!(n, Some((3, 3, vec![missing])));
        assert!(u.is_treat_as_withdraw());
        // The prefix to withdraw is still there to read.
        assert_eq!(u.announced().count(), 1);
    }
    // Nothing is required of a withdrawal-only UPDATE, nor NEXT_HOP of an MP_REACH one.
    assert!(
        decode_update(update(&[8, 10], &[], &[]), &ibgp4())
            .errors()
            .is_empty()
    );
    let mp = attr(
        0x80,
        14,
        &cat(&[
            &[0, 2, 1, 16],
            &[0x20, 1, 0xd, 0xb8][..],
            &[0; 12],
            &[0, 32, 0x20, 1, 0xd, 0xb8],
        ]),
    );
    let u = decode_update(
        update(&[], &cat(&[&origin_igp(), &as_path4(&[1]), &mp]), &[]),
        &ibgp4(),
    );
    assert!(u.errors().is_empty(), "{:?}", u.errors());
}

#[test]
fn rfc7606_3c_flag_conflicts_follow_each_attributes_rule() {
    // ORIGIN marked optional: treat-as-withdraw, 3/4 with the attribute.
    let bad = attr(0xc0, 1, &[0]);
    let u = decode_update(
        update(
            &[],
            &cat(&[&bad, &as_path4(&[1]), &next_hop([192, 0, 2, 1])]),
            &[8, 10],
        ),
        &ibgp4(),
    );
    let (t, kind, action, n) = only_error(&u);
    assert_eq!(
        (t, kind, action),
        (AttrType::ORIGIN, K::Flags, ErrorAction::TreatAsWithdraw)
    );
    assert_eq!(n, Some((3, 4, bad)));
    // ATOMIC_AGGREGATE marked optional: attribute discard.
    let u = decode_update(
        update(&[], &cat(&[&mandatory4(), &attr(0x80, 6, &[])]), &[8, 10]),
        &ibgp4(),
    );
    assert_eq!(only_error(&u).2, ErrorAction::AttributeDiscard);
    assert!(!u.atomic_aggregate());
    // The Partial bit and the Extended Length bit do not matter.
    let u = decode_update(
        update(
            &[],
            &cat(&[&mandatory4(), &attr_ext(0xe0, 8, &[0, 1, 0, 2])]),
            &[8, 10],
        ),
        &ibgp4(),
    );
    assert!(u.errors().is_empty());
    assert_eq!(u.communities().next().map(|c| c.0), Some(0x0001_0002));
}

#[test]
fn rfc7606_4_attribute_overrunning_total_length_is_treat_as_withdraw() {
    // The last attribute claims 10 octets but 4 remain: NLRI still found via total length.
    let attrs = cat(&[&mandatory4(), &[0xc0, 8, 10, 0, 0, 0, 1]]);
    let u = decode_update(update(&[], &attrs, &[8, 10]), &ibgp4());
    let (_, kind, action, _) = only_error(&u);
    assert_eq!((kind, action), (K::Overrun, ErrorAction::TreatAsWithdraw));
    assert_eq!(
        u.nlri().map(|n| n.prefix.to_string()).collect::<Vec<_>>(),
        ["10.0.0.0/8"]
    );
    // Fewer than three octets left for a header.
    let attrs = cat(&[&mandatory4(), &[0x40, 1]]);
    let u = decode_update(update(&[], &attrs, &[8, 10]), &ibgp4());
    assert_eq!(only_error(&u).1, K::Overrun);
    assert_eq!(u.origin(), Some(bgp_wire::Origin::Igp));
}

// ---- RFC 7606 §7 attribute by attribute -------------------------------------------------

fn with_extra(extra: &[u8], p: &SessionParams) -> UpdateRef {
    decode_update(update(&[], &cat(&[&mandatory4(), extra]), &[8, 10]), p)
}

#[test]
fn rfc7606_7_1_origin() {
    let bad_len = attr(0x40, 1, &[0, 0]);
    let u = decode_update(
        update(
            &[],
            &cat(&[&bad_len, &as_path4(&[1]), &next_hop([192, 0, 2, 1])]),
            &[8, 10],
        ),
        &ibgp4(),
    );
    assert_eq!(
        only_error(&u),
        (
            AttrType::ORIGIN,
            K::Length,
            ErrorAction::TreatAsWithdraw,
            Some((3, 5, bad_len))
        )
    );
    let bad_val = attr(0x40, 1, &[3]);
    let u = decode_update(
        update(
            &[],
            &cat(&[&bad_val, &as_path4(&[1]), &next_hop([192, 0, 2, 1])]),
            &[8, 10],
        ),
        &ibgp4(),
    );
    assert_eq!(
        only_error(&u),
        (
            AttrType::ORIGIN,
            K::InvalidValue,
            ErrorAction::TreatAsWithdraw,
            Some((3, 6, bad_val))
        )
    );
}

#[test]
fn rfc7606_7_2_as_path() {
    let nh = next_hop([192, 0, 2, 1]);
    for value in [
        vec![5u8, 1, 0, 0, 0, 1],  // unknown segment type
        vec![2, 0],                // zero-length segment
        vec![2, 2, 0, 0, 0, 1],    // overrun
        vec![2, 1, 0, 0, 0, 1, 2], // a lone trailing octet
    ] {
        let u = decode_update(
            update(
                &[],
                &cat(&[&origin_igp(), &attr(0x40, 2, &value), &nh]),
                &[8, 10],
            ),
            &ibgp4(),
        );
        assert_eq!(
            only_error(&u),
            (
                AttrType::AS_PATH,
                K::MalformedAsPath,
                ErrorAction::TreatAsWithdraw,
                Some((3, 11, vec![]))
            )
        );
    }
    // 2-octet session: the same bytes are read with 2-octet ASNs.
    let u = decode_update(
        update(
            &[],
            &cat(&[&origin_igp(), &as_path2(&[65001, 65002]), &nh]),
            &[8, 10],
        ),
        &SessionParams::default(),
    );
    assert_eq!(
        u.as_path().unwrap().asns().collect::<Vec<_>>(),
        [65001, 65002]
    );
    // RFC 5065 §5.1: confederation segments from an external peer are malformed...
    let confed = attr(0x40, 2, &[3, 1, 0, 0, 0xfd, 0xe9, 2, 1, 0, 0, 0xfd, 0xea]);
    let u = decode_update(
        update(&[], &cat(&[&origin_igp(), &confed, &nh]), &[8, 10]),
        &ebgp4(),
    );
    assert_eq!(only_error(&u).1, K::ConfederationSegmentFromExternalPeer);
    assert!(u.is_treat_as_withdraw());
    // ...and fine from a confederation (internal) peer.
    let u = decode_update(
        update(&[], &cat(&[&origin_igp(), &confed, &nh]), &[8, 10]),
        &ibgp4(),
    );
    assert!(u.errors().is_empty());
    assert_eq!(u.as_path().unwrap().path_len(), 1);
}

#[test]
fn rfc7606_7_3_next_hop() {
    let bad = attr(0x40, 3, &[192, 0, 2, 1, 0]);
    let u = decode_update(
        update(&[], &cat(&[&origin_igp(), &as_path4(&[1]), &bad]), &[8, 10]),
        &ibgp4(),
    );
    assert_eq!(
        only_error(&u),
        (
            AttrType::NEXT_HOP,
            K::Length,
            ErrorAction::TreatAsWithdraw,
            Some((3, 5, bad))
        )
    );
    for addr in [[0, 0, 0, 0], [255, 255, 255, 255], [224, 0, 0, 5]] {
        let bad = next_hop(addr);
        let u = decode_update(
            update(&[], &cat(&[&origin_igp(), &as_path4(&[1]), &bad]), &[8, 10]),
            &ibgp4(),
        );
        assert_eq!(
            only_error(&u),
            (
                AttrType::NEXT_HOP,
                K::InvalidNextHop,
                ErrorAction::TreatAsWithdraw,
                Some((3, 8, bad))
            )
        );
    }
}

#[test]
fn rfc7606_7_4_med() {
    let bad = attr(0x80, 4, &[0, 0, 1]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())),
        (
            AttrType::MULTI_EXIT_DISC,
            K::Length,
            ErrorAction::TreatAsWithdraw,
            Some((3, 5, bad))
        )
    );
}

#[test]
fn rfc7606_7_5_local_pref() {
    // From an external peer: discarded, whatever it looks like, with no error to send.
    let lp = attr(0x40, 5, &[0, 0, 0, 200]);
    let u = with_extra(&lp, &ebgp4());
    assert_eq!(
        only_error(&u),
        (
            AttrType::LOCAL_PREF,
            K::Unexpected,
            ErrorAction::AttributeDiscard,
            None
        )
    );
    assert_eq!(u.local_pref(), None);
    // From an internal peer: used; malformed means treat-as-withdraw.
    assert_eq!(with_extra(&lp, &ibgp4()).local_pref(), Some(200));
    let bad = attr(0x40, 5, &[0, 200]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).2,
        ErrorAction::TreatAsWithdraw
    );
}

#[test]
fn rfc7606_7_6_atomic_aggregate() {
    let bad = attr(0x40, 6, &[1]);
    let u = with_extra(&bad, &ibgp4());
    assert_eq!(
        only_error(&u),
        (
            AttrType::ATOMIC_AGGREGATE,
            K::Length,
            ErrorAction::AttributeDiscard,
            Some((3, 5, bad))
        )
    );
    assert!(!u.is_treat_as_withdraw());
}

#[test]
fn rfc7606_7_7_aggregator_length_depends_on_four_octet_as() {
    let six = attr(0xc0, 7, &[0xfd, 0xe9, 192, 0, 2, 1]);
    let eight = attr(0xc0, 7, &[0, 0, 0xfd, 0xe9, 192, 0, 2, 1]);
    assert_eq!(
        only_error(&with_extra(&six, &ibgp4())).2,
        ErrorAction::AttributeDiscard
    );
    assert_eq!(
        with_extra(&eight, &ibgp4()).aggregator().unwrap().asn,
        65001
    );
    let two = SessionParams::default();
    let u = decode_update(
        update(
            &[],
            &cat(&[
                &origin_igp(),
                &as_path2(&[1]),
                &next_hop([192, 0, 2, 1]),
                &eight,
            ]),
            &[8, 10],
        ),
        &two,
    );
    assert_eq!(only_error(&u).2, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_8_communities() {
    for v in [&[][..], &[0, 0, 1][..], &[0, 0, 0, 1, 0][..]] {
        let bad = attr(0xc0, 8, v);
        assert_eq!(
            only_error(&with_extra(&bad, &ibgp4())),
            (
                AttrType::COMMUNITIES,
                K::Length,
                ErrorAction::TreatAsWithdraw,
                Some((3, 5, bad))
            )
        );
    }
}

#[test]
fn rfc7606_7_9_and_7_10_originator_id_and_cluster_list() {
    let bad = attr(0x80, 9, &[1, 1, 1]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).0,
        AttrType::ORIGINATOR_ID
    );
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).2,
        ErrorAction::TreatAsWithdraw
    );
    for v in [&[][..], &[1, 1, 1, 1, 2, 2][..]] {
        let bad = attr(0x80, 10, v);
        let u = with_extra(&bad, &ibgp4());
        assert_eq!(
            (only_error(&u).0, only_error(&u).2),
            (AttrType::CLUSTER_LIST, ErrorAction::TreatAsWithdraw)
        );
    }
    let good = cat(&[
        &attr(0x80, 9, &[1, 1, 1, 1]),
        &attr(0x80, 10, &[2, 2, 2, 2, 3, 3, 3, 3]),
    ]);
    let u = with_extra(&good, &ibgp4());
    assert_eq!(u.originator_id(), Some("1.1.1.1".parse().unwrap()));
    assert_eq!(u.cluster_list().count(), 2);
}

#[test]
fn rfc7606_7_11_mp_reach_and_unreach_disable_the_family() {
    // IPv6 next hop of 20 octets.
    let bad = attr(0x80, 14, &cat(&[&[0, 2, 1, 20], &[0; 20], &[0]]));
    let u = with_extra(&bad, &ibgp4());
    assert_eq!(
        only_error(&u),
        (
            AttrType::MP_REACH_NLRI,
            K::MalformedMultiprotocol,
            ErrorAction::AfiSafiDisable(Family::IPV6_UNICAST),
            Some((3, 9, bad))
        )
    );
    assert!(u.mp_reach().is_none());
    // The IPv4 part of the same UPDATE is unaffected.
    assert_eq!(u.nlri().count(), 1);
    assert!(!u.is_treat_as_withdraw());
    // IPv6 prefix of length 129 in MP_UNREACH_NLRI.
    let bad = attr(0x80, 15, &[0, 2, 1, 129, 0]);
    let u = with_extra(&bad, &ibgp4());
    assert_eq!(
        only_error(&u).2,
        ErrorAction::AfiSafiDisable(Family::IPV6_UNICAST)
    );
}

#[test]
fn rfc7606_7_14_extended_communities() {
    let bad = attr(0xc0, 16, &[0; 7]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).2,
        ErrorAction::TreatAsWithdraw
    );
    let good = attr(0xc0, 16, &[0, 2, 0xfd, 0xe9, 0, 0, 0, 1]);
    assert_eq!(
        with_extra(&good, &ibgp4()).extended_communities().count(),
        1
    );
}

#[test]
fn rfc8092_large_communities_and_rfc9234_otc() {
    let bad = attr(0xc0, 32, &[0; 11]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).2,
        ErrorAction::TreatAsWithdraw
    );
    let bad = attr(0xc0, 35, &[0, 0, 1]);
    assert_eq!(
        only_error(&with_extra(&bad, &ibgp4())).2,
        ErrorAction::TreatAsWithdraw
    );
    let good = cat(&[
        &attr(0xc0, 32, &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2]),
        &attr(0xc0, 35, &[0, 0, 0xfd, 0xe9]),
    ]);
    let u = with_extra(&good, &ibgp4());
    assert_eq!(
        u.large_communities().next().unwrap().to_string(),
        "65001:1:2"
    );
    assert_eq!(u.otc(), Some(65001));
}

#[test]
fn rfc6793_as4_attributes() {
    let two = SessionParams::default();
    let base = cat(&[
        &origin_igp(),
        &as_path2(&[23456, 65002]),
        &next_hop([192, 0, 2, 1]),
    ]);
    // Well-formed AS4_PATH from a 2-octet speaker is kept.
    let as4 = attr(0xc0, 17, &[2, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfd, 0xea]);
    let u = decode_update(update(&[], &cat(&[&base, &as4]), &[8, 10]), &two);
    assert!(u.errors().is_empty());
    assert_eq!(
        u.as4_path().unwrap().asns().collect::<Vec<_>>(),
        [4_200_000_001, 65002]
    );
    // Malformed AS4_PATH is discarded, the route stays.
    let bad = attr(0xc0, 17, &[2, 3, 0, 0, 0, 1]);
    let u = decode_update(update(&[], &cat(&[&base, &bad]), &[8, 10]), &two);
    assert_eq!(only_error(&u).2, ErrorAction::AttributeDiscard);
    assert!(u.as4_path().is_none());
    // From a 4-octet speaker, AS4_PATH is discarded silently.
    let u = with_extra(&as4, &ibgp4());
    assert_eq!(
        only_error(&u),
        (
            AttrType::AS4_PATH,
            K::Unexpected,
            ErrorAction::AttributeDiscard,
            None
        )
    );
}

#[test]
fn unknown_optional_attributes_are_carried_with_their_flags() {
    let unknown = attr(0xe0, 99, &[1, 2, 3]);
    let u = with_extra(&unknown, &ebgp4());
    assert!(u.errors().is_empty());
    let a = u
        .attributes()
        .find(|a| a.type_code == AttrType(99))
        .unwrap();
    assert_eq!((a.flags.0, a.value), (0xe0, &[1u8, 2, 3][..]));
}

#[test]
fn errors_never_lose_other_routes() {
    // A treat-as-withdraw UPDATE still lists its withdrawals and announcements, so the
    // receiver removes exactly those routes and nothing else.
    let bad = attr(0xc0, 8, &[0, 0, 1]);
    let m = update(
        &[16, 172, 16],
        &cat(&[&mandatory4(), &bad]),
        &[8, 10, 24, 192, 0, 2],
    );
    let u = decode_update(m, &ibgp4());
    assert!(u.is_treat_as_withdraw());
    let w: Vec<_> = u.withdrawn_all().map(|n| n.prefix.to_string()).collect();
    let a: Vec<_> = u.announced().map(|n| n.prefix.to_string()).collect();
    assert_eq!(w, ["172.16.0.0/16"]);
    assert_eq!(a, ["10.0.0.0/8", "192.0.2.0/24"]);
}

// ---- ROUTE-REFRESH (RFC 2918, RFC 7313) -------------------------------------------------

#[test]
fn route_refresh_lengths() {
    assert!(decode(message(5, &[0, 1, 0, 1]), &ibgp4()).is_ok());
    // BoRR with a trailing octet: 7/1 with the whole message.
    let m = message(5, &[0, 1, 1, 1, 0]);
    assert_eq!(decode_err(m.clone(), &ibgp4()), (7, 1, m.to_vec()));
    // A plain request of the wrong length: header error.
    let m = message(5, &[0, 1, 0]);
    assert_eq!(decode_err(m, &ibgp4()), (1, 2, vec![0, 22]));
}

#[test]
fn add_path_changes_how_nlri_is_read() {
    let mut ap = FamilySet::EMPTY;
    ap.insert(Family::IPV4_UNICAST);
    let p = ibgp4().with_add_path(ap, ap);
    let u = decode_update(update(&[], &mandatory4(), &[0, 0, 0, 7, 8, 10]), &p);
    let n = u.nlri().next().unwrap();
    assert_eq!(
        (n.path_id, n.prefix.to_string().as_str()),
        (Some(7), "10.0.0.0/8")
    );
    // Without ADD-PATH the same bytes are a malformed NLRI field.
    assert_eq!(
        decode_err(update(&[], &mandatory4(), &[0, 0, 0, 7, 8, 10]), &ibgp4()).1,
        10
    );
}

#[test]
fn rfc7606_3g_many_duplicates_are_all_hidden_in_order() {
    let med = |v: u8| attr(0x80, 4, &[0, 0, 0, v]);
    let comm = |v: u8| attr(0xc0, 8, &[0, 0, 0, v]);
    let attrs = cat(&[
        &mandatory4(),
        &med(1),
        &med(2),
        &comm(3),
        &med(4),
        &comm(5),
        &attr(0xc0, 99, &[7]),
    ]);
    let u = decode_update(update(&[], &attrs, &[8, 10]), &ibgp4());
    assert_eq!(u.errors().len(), 3);
    assert!(u.errors().iter().all(|e| e.kind == K::Duplicate));
    let seen: Vec<(u8, Vec<u8>)> = u
        .attributes()
        .map(|a| (a.type_code.0, a.value.to_vec()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, vec![0]),
            (2, vec![2, 1, 0, 0, 0xfd, 0xe9]),
            (3, vec![192, 0, 2, 1]),
            (4, vec![0, 0, 0, 1]),
            (8, vec![0, 0, 0, 3]),
            (99, vec![7]),
        ]
    );
}
