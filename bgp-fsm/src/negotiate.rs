//! Checking the peer's OPEN against the configuration (RFC 4271 §6.2 and the capability
//! RFCs) and computing what the session agreed.

use bgp_wire::notification::open_subcode;
use bgp_wire::open::ExtendedNextHop;
use bgp_wire::{
    AS_TRANS, AddPathMode, Capability, CapabilityCode, ErrorCode, Family, FamilySet,
    GracefulRestart, Notification, Open, Role, SessionParams,
};
use bytes::{Bytes, BytesMut};
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::config::Config;

/// Everything the two OPEN messages agreed, in one value.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Negotiated {
    /// What decoding and encoding UPDATEs need: 4-octet AS, ADD-PATH per family, extended
    /// message, eBGP or iBGP.
    pub params: SessionParams,
    /// The peer's AS (from the 4-octet AS capability when present).
    pub peer_as: u32,
    /// The peer's BGP Identifier.
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time in seconds: the smaller of the two proposals; 0 means no
    /// keepalives and no hold timer.
    pub hold_time: u16,
    /// Interval between our KEEPALIVEs in seconds (0 with hold time 0).
    pub keepalive_time: u16,
    /// Families both sides announced (RFC 4760 §8: IPv4 unicast when a side announces none).
    pub families: Vec<Family>,
    /// ADD-PATH per family, from our side's point of view: `Receive` when we receive path
    /// identifiers, `Send` when we send them, `Both` for both (RFC 7911 §4). Covers every
    /// family, also those [`FamilySet`] cannot hold.
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Extended next hop encodings both announced (RFC 8950).
    pub extended_next_hop: Vec<ExtendedNextHop>,
    /// Both announced Route Refresh (RFC 2918): we may send ROUTE-REFRESH.
    pub route_refresh: bool,
    /// Both announced Enhanced Route Refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability when both sides announced one (RFC 4724),
    /// restricted to negotiated families with their forwarding bit.
    pub graceful_restart: Option<GracefulRestart>,
    /// Our role and the peer's when both announced a consistent pair (RFC 9234).
    pub roles: Option<(Role, Role)>,
    /// The peer's OPEN as received.
    pub peer_open: Open,
}

impl Negotiated {
    /// Whether the peer is external (eBGP).
    pub fn is_external(&self) -> bool {
        self.params.external
    }

    /// The negotiated hold time, `None` when it is zero.
    pub fn hold(&self) -> Option<Duration> {
        (self.hold_time != 0).then(|| Duration::from_secs(u64::from(self.hold_time)))
    }

    /// Keepalive interval, `None` when keepalives are off.
    pub fn keepalive(&self) -> Option<Duration> {
        (self.keepalive_time != 0).then(|| Duration::from_secs(u64::from(self.keepalive_time)))
    }
}

/// Why an OPEN was refused: the NOTIFICATION to send and a sentence for a person.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rejection {
    /// OPEN Message Error with the subcode (and data) the RFCs prescribe.
    pub notification: Notification,
    /// What was wrong.
    pub description: String,
}

fn open_error(subcode: u8, data: Bytes, description: String) -> Rejection {
    Rejection {
        notification: Notification::new(ErrorCode::OPEN_MESSAGE, subcode, data),
        description,
    }
}

/// Checks the peer's OPEN (RFC 4271 §6.2 in its order: version and optional parameter
/// syntax were checked by the decoder; then peer AS, hold time, identifier, capabilities)
/// and computes the agreement.
pub fn negotiate(config: &Config, open: &Open) -> Result<Negotiated, Rejection> {
    let peer_as = check_peer_as(config, open)?;
    // RFC 4271 §6.2: "An implementation MUST reject Hold Time values of one or two
    // seconds."
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(open_error(
            open_subcode::UNACCEPTABLE_HOLD_TIME,
            Bytes::new(),
            format!(
                "peer proposed hold time {} s (must be 0 or at least 3)",
                open.hold_time
            ),
        ));
    }
    let external = peer_as != config.local_as;
    // RFC 6286 §2.2: the identifier must be non-zero, and "for an internal BGP peer ... the
    // BGP Identifier ... MUST be different from" ours (eBGP peers may share it).
    if open.bgp_id.is_unspecified() || (!external && open.bgp_id == config.router_id) {
        return Err(open_error(
            open_subcode::BAD_BGP_IDENTIFIER,
            Bytes::new(),
            format!("peer BGP identifier {} is not acceptable", open.bgp_id),
        ));
    }
    check_required(config, open)?;
    let roles = check_role(config, open, external)?;

    let ours = config.capabilities();
    let has_ours = |code: CapabilityCode| ours.iter().any(|c| c.code() == code);

    let local_families: Vec<Family> = if config.families.is_empty() {
        vec![Family::IPV4_UNICAST]
    } else {
        config.families.clone()
    };
    let peer_families = open.families();
    let families: Vec<Family> = local_families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();

    let four_octet_as = open.four_octet_as().is_some();
    let extended_message = config.extended_message && open.has(CapabilityCode::EXTENDED_MESSAGE);

    // RFC 7911 §4: we receive path identifiers in a family when we announced "receive" and
    // the peer announced "send"; the other way round for sending.
    let peer_add_path: Vec<(Family, AddPathMode)> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::AddPath(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut add_path = Vec::new();
    let mut add_path_receive = FamilySet::EMPTY;
    let mut add_path_send = FamilySet::EMPTY;
    for (family, mode) in &config.add_path {
        if !families.contains(family) {
            continue;
        }
        let Some(peer_mode) = peer_add_path
            .iter()
            .find(|(f, _)| f == family)
            .map(|(_, m)| *m)
        else {
            continue;
        };
        let receive = mode.can_receive() && peer_mode.can_send();
        let send = mode.can_send() && peer_mode.can_receive();
        let agreed = match (receive, send) {
            (true, true) => AddPathMode::Both,
            (true, false) => AddPathMode::Receive,
            (false, true) => AddPathMode::Send,
            (false, false) => continue,
        };
        if receive {
            add_path_receive.insert(*family);
        }
        if send {
            add_path_send.insert(*family);
        }
        add_path.push((*family, agreed));
    }

    let peer_enh: Vec<ExtendedNextHop> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::ExtendedNextHop(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    let extended_next_hop = config
        .extended_next_hop
        .iter()
        .copied()
        .filter(|e| peer_enh.contains(e))
        .collect();

    let route_refresh =
        has_ours(CapabilityCode::ROUTE_REFRESH) && open.has(CapabilityCode::ROUTE_REFRESH);
    let enhanced_route_refresh = has_ours(CapabilityCode::ENHANCED_ROUTE_REFRESH)
        && open.has(CapabilityCode::ENHANCED_ROUTE_REFRESH);

    let graceful_restart = if config.graceful_restart.is_some() {
        open.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(GracefulRestart {
                families: g
                    .families
                    .iter()
                    .copied()
                    .filter(|(f, _)| families.contains(f))
                    .collect(),
                ..g.clone()
            }),
            _ => None,
        })
    } else {
        None
    };

    let hold_time = config.hold_time.min(open.hold_time);
    let keepalive_time = keepalive_for(hold_time, config.keepalive_time);

    Ok(Negotiated {
        params: SessionParams {
            four_octet_as,
            add_path_receive,
            add_path_send,
            extended_message,
            external,
        },
        peer_as,
        peer_id: open.bgp_id,
        hold_time,
        keepalive_time,
        families,
        add_path,
        extended_next_hop,
        route_refresh,
        enhanced_route_refresh,
        graceful_restart,
        roles,
        peer_open: open.clone(),
    })
}

/// RFC 4271 §10: "KeepaliveTime: 1/3 of HoldTime", or the configured interval when lower.
fn keepalive_for(hold_time: u16, configured: Option<u16>) -> u16 {
    if hold_time == 0 {
        return 0;
    }
    let third = (hold_time / 3).max(1);
    match configured {
        Some(k) if k > 0 && k < third => k,
        _ => third,
    }
}

/// RFC 4271 §6.2 "Bad Peer AS" with the RFC 6793 AS_TRANS rules.
fn check_peer_as(config: &Config, open: &Open) -> Result<u32, Rejection> {
    let bad = |why: String| open_error(open_subcode::BAD_PEER_AS, Bytes::new(), why);
    let asn = match open.four_octet_as() {
        // RFC 6793 §9: AS_TRANS is reserved; it is never a speaker's real AS.
        Some(AS_TRANS) => {
            return Err(bad(
                "peer announced AS_TRANS (23456) in its 4-octet AS capability".into(),
            ));
        }
        Some(asn) => asn,
        None if u32::from(open.my_as) == AS_TRANS && !config.peer_as.allows(AS_TRANS) => {
            // An old speaker in a 4-octet AS cannot say which one: accept it only when
            // allowed and exactly one configured AS needs 4 octets.
            let candidates: Vec<u32> = match &config.peer_as {
                crate::config::PeerAs::Exact(a) => vec![*a],
                crate::config::PeerAs::OneOf(v) => v.clone(),
                crate::config::PeerAs::Any => Vec::new(),
            };
            let wide: Vec<u32> = candidates.into_iter().filter(|a| *a > 0xffff).collect();
            match (config.allow_as_trans, wide.as_slice()) {
                (true, [only]) => *only,
                _ => {
                    return Err(bad("peer sent AS_TRANS (23456) without the 4-octet AS \
                         capability"
                        .into()));
                }
            }
        }
        None => u32::from(open.my_as),
    };
    if asn == 0 || !config.peer_as.allows(asn) {
        return Err(bad(format!(
            "peer AS {asn} is not the configured {}",
            describe_peer_as(&config.peer_as)
        )));
    }
    Ok(asn)
}

fn describe_peer_as(peer_as: &crate::config::PeerAs) -> String {
    match peer_as {
        crate::config::PeerAs::Exact(a) => format!("AS {a}"),
        crate::config::PeerAs::OneOf(v) => format!("set {v:?}"),
        crate::config::PeerAs::Any => "any AS".into(),
    }
}

/// RFC 5492 §5: "the speaker MAY send a NOTIFICATION message ... The Error Subcode in the
/// message is set to Unsupported Capability. The message MUST contain the capability or
/// capabilities that cause the speaker to send the message."
fn check_required(config: &Config, open: &Open) -> Result<(), Rejection> {
    let ours = config.capabilities();
    let missing: Vec<CapabilityCode> = config
        .required_capabilities
        .iter()
        .copied()
        .filter(|code| !open.has(*code))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut data = BytesMut::new();
    for code in &missing {
        let mut found = false;
        for cap in ours.iter().filter(|c| c.code() == *code) {
            found |= cap.encode(&mut data).is_ok();
        }
        if !found {
            // Required but not announced by us: name the code with an empty value.
            data.extend_from_slice(&[code.0, 0]);
        }
    }
    let names: Vec<String> = missing.iter().map(|c| c.to_string()).collect();
    Err(open_error(
        open_subcode::UNSUPPORTED_CAPABILITY,
        data.freeze(),
        format!("peer lacks required capability {}", names.join(", ")),
    ))
}

/// RFC 9234 §4.2: roles must pair up (provider/customer, RS/RS-client, peer/peer); strict
/// mode also requires the peer to announce one.
fn check_role(
    config: &Config,
    open: &Open,
    external: bool,
) -> Result<Option<(Role, Role)>, Rejection> {
    let Some(local) = config.role else {
        return Ok(None);
    };
    if !external {
        return Ok(None);
    }
    let mismatch = |why: String| open_error(open_subcode::ROLE_MISMATCH, Bytes::new(), why);
    let peer_roles: Vec<Role> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
        .collect();
    // RFC 9234 §4.2: "If multiple BGP Role Capabilities are received and not all of them
    // have the same value, then the BGP speaker MUST reject the connection using the Role
    // Mismatch Notification".
    let Some(first) = peer_roles.first().copied() else {
        return if local.strict {
            Err(mismatch(
                "strict BGP role: the peer announced no role".into(),
            ))
        } else {
            Ok(None)
        };
    };
    if peer_roles.iter().any(|r| *r != first) {
        return Err(mismatch("peer announced conflicting roles".into()));
    }
    if local.role.expected_peer_role() != Some(first) {
        return Err(mismatch(format!(
            "our role {} does not pair with the peer's role {}",
            local.role.0, first.0
        )));
    }
    Ok(Some((local.role, first)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PeerAs, RoleConfig};

    fn cfg() -> Config {
        Config::new(65001, Ipv4Addr::new(1, 1, 1, 1), PeerAs::Exact(65002))
    }

    fn peer_open(asn: u32, caps: Vec<Capability>) -> Open {
        Open::new(asn, 90, Ipv4Addr::new(2, 2, 2, 2), caps)
    }

    #[test]
    fn hold_time_is_the_minimum_and_keepalive_a_third() {
        let mut open = peer_open(65002, vec![]);
        open.hold_time = 30;
        let n = negotiate(&cfg(), &open).unwrap();
        assert_eq!((n.hold_time, n.keepalive_time), (30, 10));
        let mut c = cfg();
        c.keepalive_time = Some(3);
        assert_eq!(negotiate(&c, &open).unwrap().keepalive_time, 3);
        open.hold_time = 0;
        let n = negotiate(&cfg(), &open).unwrap();
        assert_eq!((n.hold_time, n.keepalive_time), (0, 0));
        open.hold_time = 2;
        let r = negotiate(&cfg(), &open).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::UNACCEPTABLE_HOLD_TIME);
    }

    #[test]
    fn as_trans_handling() {
        // 4-octet peer AS announced through the capability.
        let mut c = cfg();
        c.peer_as = PeerAs::Exact(4_200_000_000);
        let open = peer_open(4_200_000_000, vec![]);
        assert_eq!(open.my_as as u32, AS_TRANS);
        assert_eq!(negotiate(&c, &open).unwrap().peer_as, 4_200_000_000);
        // Without the capability, AS_TRANS is refused unless allowed.
        let mut old = open.clone();
        old.capabilities.clear();
        let r = negotiate(&c, &old).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::BAD_PEER_AS);
        c.allow_as_trans = true;
        let n = negotiate(&c, &old).unwrap();
        assert_eq!(n.peer_as, 4_200_000_000);
        assert!(!n.params.four_octet_as);
        // AS_TRANS in the capability itself is never valid.
        let r = negotiate(&c, &peer_open(AS_TRANS, vec![])).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::BAD_PEER_AS);
    }

    #[test]
    fn peer_as_sets() {
        let mut c = cfg();
        c.peer_as = PeerAs::OneOf(vec![12076, 65515]);
        assert!(negotiate(&c, &peer_open(65515, vec![])).is_ok());
        let r = negotiate(&c, &peer_open(65002, vec![])).unwrap_err();
        assert_eq!(r.notification.code, ErrorCode::OPEN_MESSAGE);
        assert_eq!(r.notification.subcode, open_subcode::BAD_PEER_AS);
        assert!(r.description.contains("65002"), "{}", r.description);
    }

    #[test]
    fn identifier_equal_to_ours_is_refused_for_ibgp_only() {
        let mut c = cfg();
        let mut open = peer_open(65002, vec![]);
        open.bgp_id = c.router_id;
        assert!(
            negotiate(&c, &open).is_ok(),
            "eBGP may share the identifier"
        );
        c.peer_as = PeerAs::Exact(65001);
        let mut open = peer_open(65001, vec![]);
        open.bgp_id = c.router_id;
        let r = negotiate(&c, &open).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::BAD_BGP_IDENTIFIER);
        open.bgp_id = Ipv4Addr::UNSPECIFIED;
        let r = negotiate(&c, &open).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::BAD_BGP_IDENTIFIER);
    }

    #[test]
    fn required_capability_missing_names_it_in_data() {
        let mut c = cfg();
        c.required_capabilities = vec![CapabilityCode::ROUTE_REFRESH];
        let r = negotiate(&c, &peer_open(65002, vec![])).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::UNSUPPORTED_CAPABILITY);
        assert_eq!(&r.notification.data[..], &[2, 0]);
        c.required_capabilities = vec![CapabilityCode::MULTIPROTOCOL];
        let r = negotiate(&c, &peer_open(65002, vec![])).unwrap_err();
        assert_eq!(&r.notification.data[..], &[1, 4, 0, 1, 0, 1]);
        let ok = peer_open(65002, vec![Capability::Multiprotocol(Family::IPV4_UNICAST)]);
        assert!(negotiate(&c, &ok).is_ok());
    }

    #[test]
    fn capabilities_are_intersected() {
        let mut c = cfg();
        c.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
        c.add_path = vec![
            (Family::IPV4_UNICAST, AddPathMode::Both),
            (Family::IPV6_UNICAST, AddPathMode::Receive),
        ];
        c.extended_message = true;
        c.enhanced_route_refresh = true;
        c.graceful_restart = Some(Default::default());
        let open = peer_open(
            65002,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::Multiprotocol(Family::IPV6_UNICAST),
                Capability::Multiprotocol(Family::IPV4_MULTICAST),
                Capability::RouteRefresh,
                Capability::ExtendedMessage,
                Capability::AddPath(vec![
                    (Family::IPV4_UNICAST, AddPathMode::Receive),
                    (Family::IPV6_UNICAST, AddPathMode::Receive),
                ]),
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: true,
                    notification: false,
                    restart_time: 90,
                    families: vec![(Family::IPV4_UNICAST, true), (Family::IPV4_MULTICAST, true)],
                }),
            ],
        );
        let n = negotiate(&c, &open).unwrap();
        assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert!(n.params.four_octet_as && n.params.extended_message && n.params.external);
        assert_eq!(n.add_path, vec![(Family::IPV4_UNICAST, AddPathMode::Send)]);
        assert!(n.params.add_path_send.contains(Family::IPV4_UNICAST));
        assert!(n.params.add_path_receive.is_empty());
        assert!(n.route_refresh && !n.enhanced_route_refresh);
        let gr = n.graceful_restart.unwrap();
        assert_eq!((gr.restart_time, gr.restart_state), (90, true));
        assert_eq!(gr.families, vec![(Family::IPV4_UNICAST, true)]);
    }

    #[test]
    fn roles_must_pair() {
        let mut c = cfg();
        c.role = Some(RoleConfig {
            role: Role::CUSTOMER,
            strict: false,
        });
        assert_eq!(
            negotiate(&c, &peer_open(65002, vec![])).unwrap().roles,
            None
        );
        let provider = peer_open(65002, vec![Capability::Role(Role::PROVIDER)]);
        assert_eq!(
            negotiate(&c, &provider).unwrap().roles,
            Some((Role::CUSTOMER, Role::PROVIDER))
        );
        let peer = peer_open(65002, vec![Capability::Role(Role::PEER)]);
        let r = negotiate(&c, &peer).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::ROLE_MISMATCH);
        c.role = Some(RoleConfig {
            role: Role::CUSTOMER,
            strict: true,
        });
        let r = negotiate(&c, &peer_open(65002, vec![])).unwrap_err();
        assert_eq!(r.notification.subcode, open_subcode::ROLE_MISMATCH);
    }
}
