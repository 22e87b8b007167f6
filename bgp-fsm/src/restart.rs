//! Graceful restart, receiving speaker side (RFC 4724 §4.2, "helper mode"): whether a
//! peer's routes are kept when its session ends, which of them, and for how long.
//!
//! Like the session state machine it reads no clock and touches no table: the caller feeds
//! session events in ([`RestartHelper::session_up`], [`RestartHelper::session_down`],
//! [`RestartHelper::end_of_rib`], [`RestartHelper::handle_timeout`]) and carries out the
//! [`HelperAction`]s that come back on its routing table (in `bgp-rib`: `Rib::peer_down`,
//! `Rib::peer_down_graceful`, `Rib::end_of_rib`, `Rib::restart_timer_expired`). One timer
//! per peer, reported by [`RestartHelper::poll_timeout`]: the peer's Restart Time while it
//! is away, then the stale path time until its End-of-RIB markers arrive.
//!
//! ```text
//!   none ──session down, no NOTIFICATION, the peer listed families──> Away   (KeepStale)
//!   Away ──Restart Time runs out──────────────────────────────────────> none   (RemoveAllStale)
//!   Away ──session up: families without the F bit lose their routes───> Back   (RemoveStale)
//!   Back ──End-of-RIB for the last stale family───────────────────────> none   (the RIB removes)
//!   Back ──stale path time runs out───────────────────────────────────> none   (RemoveAllStale)
//!   Back ──session down again: earlier stale routes go, the rest kept─> Away
//! ```
//!
//! A session that ends with a NOTIFICATION (sent or received, hold timer expiry included)
//! ends the normal way: RFC 4724 §4 says "the normal BGP procedures MUST be followed when
//! the TCP session terminates due to the sending or receiving of a BGP NOTIFICATION
//! message". RFC 8538 (graceful restart after a NOTIFICATION, the N bit) is not
//! implemented: we never announce the N bit, so a peer never expects it of us.

use bgp_wire::{Family, GracefulRestart};
use std::time::{Duration, Instant};

use crate::action::DownReason;
use crate::negotiate::Negotiated;

/// How long stale routes of a peer that came back are kept at most while its End-of-RIB
/// markers are awaited: 360 s, FRR's `stalepath-time` default.
pub const DEFAULT_STALE_PATH_TIME: Duration = Duration::from_secs(360);

/// Receiving speaker settings for one peer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HelperConfig {
    /// Keep a restarting peer's routes. When off, every session end removes the peer's
    /// routes at once. The peer only restarts gracefully with us if we announced the
    /// Graceful Restart capability ([`crate::Config::graceful_restart`]), so announce it
    /// when this is on.
    pub enabled: bool,
    /// Upper bound on how long stale routes stay once the session is back (RFC 4724 §4.2:
    /// "an implementation MAY support a (configurable) timer that imposes this upper
    /// bound").
    pub stale_path_time: Duration,
}

impl Default for HelperConfig {
    fn default() -> Self {
        HelperConfig {
            enabled: true,
            stale_path_time: DEFAULT_STALE_PATH_TIME,
        }
    }
}

/// What the routing table must do with the peer's routes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum HelperAction {
    /// Remove every route of the peer: the session ended the normal way (RFC 4271 §9).
    RemoveAll,
    /// Keep the peer's routes of `families`, marked stale and still used for forwarding;
    /// remove its routes of every other family now. The peer is expected back within its
    /// Restart Time: start the session again at once rather than after the IdleHoldTimer,
    /// whose damping would refuse the restarted peer's connection for a while (and,
    /// doubling with each fall, could outlast the Restart Time).
    KeepStale {
        /// The families the peer listed in its Graceful Restart capability.
        families: Vec<Family>,
    },
    /// Remove the peer's stale routes of this family.
    RemoveStale(Family),
    /// Remove every stale route of the peer.
    RemoveAllStale,
}

/// Where a restart stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestartPhase {
    /// The session is down; the peer's Restart Time runs.
    Away,
    /// The session is back; End-of-RIB is awaited, for at most the stale path time.
    Back,
}

/// A restart of the peer that we are helping through.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Restart {
    /// Away or back.
    pub phase: RestartPhase,
    /// Families whose routes are still stale.
    pub families: Vec<Family>,
    /// When the remaining stale routes go if nothing removes them earlier.
    pub deadline: Instant,
    /// When the session went down.
    pub since: Instant,
}

/// The receiving speaker procedures of RFC 4724 §4.2 for one peer.
#[derive(Clone, Debug)]
pub struct RestartHelper {
    config: HelperConfig,
    /// The peer's Graceful Restart capability on the current (or last) session, as
    /// negotiated (restricted to the session's families).
    peer_capability: Option<GracefulRestart>,
    restart: Option<Restart>,
}

impl RestartHelper {
    /// A helper with no restart in progress.
    pub fn new(config: HelperConfig) -> Self {
        RestartHelper {
            config,
            peer_capability: None,
            restart: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &HelperConfig {
        &self.config
    }

    /// The restart in progress, if any.
    pub fn restart(&self) -> Option<&Restart> {
        self.restart.as_ref()
    }

    /// When [`RestartHelper::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.restart.as_ref().map(|r| r.deadline)
    }

    /// The session reached Established with `negotiated`. Returns what must go: the stale
    /// routes of every family the peer no longer preserves.
    pub fn session_up(&mut self, now: Instant, negotiated: &Negotiated) -> Vec<HelperAction> {
        self.peer_capability = negotiated.graceful_restart.clone();
        let Some(restart) = &mut self.restart else {
            return Vec::new();
        };
        // RFC 4724 §4.2: "Once the session is re-established, if the "Forwarding State" bit
        // for a specific address family is not set in the newly received Graceful Restart
        // Capability, or if a specific address family is not included in the newly
        // received Graceful Restart Capability, or if the Graceful Restart Capability is
        // not received in the re-established session at all, then the Receiving Speaker
        // MUST immediately remove all the stale routes from the peer that it is retaining
        // for that address family."
        let preserved = |f: &Family| {
            negotiated
                .graceful_restart
                .as_ref()
                .is_some_and(|g| g.families.iter().any(|(x, fwd)| x == f && *fwd))
        };
        let mut actions = Vec::new();
        restart.families.retain(|f| {
            let keep = preserved(f);
            if !keep {
                actions.push(HelperAction::RemoveStale(*f));
            }
            keep
        });
        if restart.families.is_empty() {
            self.restart = None;
            return vec![HelperAction::RemoveAllStale];
        }
        restart.phase = RestartPhase::Back;
        restart.deadline = now.checked_add(self.config.stale_path_time).unwrap_or(now);
        actions
    }

    /// The Established session ended for `reason`. Returns what to do with the peer's
    /// routes.
    pub fn session_down(&mut self, now: Instant, reason: &DownReason) -> Vec<HelperAction> {
        let capability = self.peer_capability.take();
        let previous = self.restart.take();
        let families: Vec<Family> = capability
            .as_ref()
            .map(|g| {
                let mut v: Vec<Family> = Vec::new();
                for (f, _) in &g.families {
                    if !v.contains(f) {
                        v.push(*f);
                    }
                }
                v
            })
            .unwrap_or_default();
        // RFC 4724 §4: "the normal BGP procedures MUST be followed when the TCP session
        // terminates due to the sending or receiving of a BGP NOTIFICATION message."
        let graceful = self.config.enabled && reason.notification.is_none();
        let (Some(capability), true, false) = (capability, graceful, families.is_empty()) else {
            return vec![HelperAction::RemoveAll];
        };
        let mut actions = Vec::new();
        // RFC 4724 §4.2: "To deal with possible consecutive restarts, a route (from the
        // peer) previously marked as stale MUST be deleted."
        if previous.is_some() {
            actions.push(HelperAction::RemoveAllStale);
        }
        // RFC 4724 §4.2: "When the Receiving Speaker detects termination of the TCP session
        // for a BGP session with a peer that has advertised the Graceful Restart
        // Capability, it MUST retain the routes received from the peer for all the address
        // families that were previously received in the Graceful Restart Capability and
        // MUST mark them as stale routing information."
        actions.push(HelperAction::KeepStale {
            families: families.clone(),
        });
        // "If the session does not get re-established within the "Restart Time" that the
        // peer advertised previously, the Receiving Speaker MUST delete all the stale
        // routes from the peer that it is retaining."
        let restart_time = Duration::from_secs(u64::from(capability.restart_time));
        self.restart = Some(Restart {
            phase: RestartPhase::Away,
            families,
            deadline: now.checked_add(restart_time).unwrap_or(now),
            since: now,
        });
        actions
    }

    /// End-of-RIB for `family` arrived. The table removes the family's stale routes by
    /// itself (RFC 4724 §4.2: "Once the End-of-RIB marker for an address family is
    /// received from the peer, it MUST immediately remove any routes from the peer that
    /// are still marked as stale for that address family"); this ends the family's part
    /// of the restart. Returns whether the family was restarting.
    pub fn end_of_rib(&mut self, family: Family) -> bool {
        let Some(restart) = &mut self.restart else {
            return false;
        };
        if restart.phase != RestartPhase::Back || !restart.families.contains(&family) {
            return false;
        }
        restart.families.retain(|f| *f != family);
        if restart.families.is_empty() {
            self.restart = None;
        }
        true
    }

    /// Timers due at `now`: the Restart Time or the stale path time ran out.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<HelperAction> {
        match &self.restart {
            Some(r) if r.deadline <= now => {
                self.restart = None;
                vec![HelperAction::RemoveAllStale]
            }
            _ => Vec::new(),
        }
    }

    /// The peer was stopped or removed by the operator: nothing is kept for it any more.
    pub fn abandon(&mut self) -> Vec<HelperAction> {
        self.peer_capability = None;
        match self.restart.take() {
            Some(_) => vec![HelperAction::RemoveAllStale],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Notified;
    use crate::config::{Config, GracefulRestartConfig, PeerAs};
    use crate::negotiate::negotiate;
    use bgp_wire::{Capability, Notification, Open};
    use std::net::Ipv4Addr;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;

    /// What a session agreed when the peer announced `gr` (and we announced GR).
    fn negotiated(gr: Option<GracefulRestart>) -> Negotiated {
        let mut config = Config::new(65001, Ipv4Addr::new(192, 0, 2, 1), PeerAs::Exact(65002));
        config.families = vec![V4, V6];
        config.graceful_restart = Some(GracefulRestartConfig::default());
        let mut caps = vec![Capability::Multiprotocol(V4), Capability::Multiprotocol(V6)];
        caps.extend(gr.map(Capability::GracefulRestart));
        let open = Open::new(65002, 90, Ipv4Addr::new(192, 0, 2, 2), caps);
        negotiate(&config, &open).unwrap()
    }

    fn gr(restart_time: u16, families: &[(Family, bool)]) -> Option<GracefulRestart> {
        Some(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time,
            families: families.to_vec(),
        })
    }

    fn tcp_reset() -> DownReason {
        DownReason {
            description: "connection closed".into(),
            notification: None,
        }
    }

    fn t(secs: u64) -> Instant {
        // One fixed origin per test run is enough: only differences matter.
        thread_local!(static ORIGIN: Instant = Instant::now());
        ORIGIN.with(|o| *o + Duration::from_secs(secs))
    }

    fn helper() -> RestartHelper {
        RestartHelper::new(HelperConfig {
            enabled: true,
            stale_path_time: Duration::from_secs(300),
        })
    }

    #[test]
    fn tcp_reset_keeps_listed_families_until_end_of_rib() {
        let mut h = helper();
        assert!(
            h.session_up(t(0), &negotiated(gr(60, &[(V4, true)])))
                .is_empty()
        );
        assert_eq!(
            h.session_down(t(10), &tcp_reset()),
            [HelperAction::KeepStale { families: vec![V4] }]
        );
        assert_eq!(h.poll_timeout(), Some(t(70)));
        assert_eq!(h.restart().unwrap().phase, RestartPhase::Away);
        // Back within the Restart Time with the F bit set: nothing goes yet; the stale
        // path time bounds the wait for End-of-RIB.
        assert!(
            h.session_up(t(20), &negotiated(gr(60, &[(V4, true)])))
                .is_empty()
        );
        assert_eq!(h.restart().unwrap().phase, RestartPhase::Back);
        assert_eq!(h.poll_timeout(), Some(t(320)));
        assert!(!h.end_of_rib(V6), "IPv6 was not restarting");
        assert!(h.end_of_rib(V4));
        assert_eq!(h.restart(), None);
        assert_eq!(h.poll_timeout(), None);
    }

    #[test]
    fn notification_or_hold_timer_is_a_normal_down() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(gr(60, &[(V4, true)])));
        let reason = DownReason {
            description: "hold timer expired".into(),
            notification: Some(Notified::Sent(Notification::new(
                bgp_wire::ErrorCode::HOLD_TIMER_EXPIRED,
                0,
                bytes::Bytes::new(),
            ))),
        };
        assert_eq!(h.session_down(t(1), &reason), [HelperAction::RemoveAll]);
        assert_eq!(h.restart(), None);
    }

    #[test]
    fn no_capability_no_families_or_disabled_is_a_normal_down() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(None));
        assert_eq!(
            h.session_down(t(1), &tcp_reset()),
            [HelperAction::RemoveAll]
        );
        // A helper-only peer lists no families: nothing to keep.
        h.session_up(t(2), &negotiated(gr(60, &[])));
        assert_eq!(
            h.session_down(t(3), &tcp_reset()),
            [HelperAction::RemoveAll]
        );
        let mut off = RestartHelper::new(HelperConfig {
            enabled: false,
            ..HelperConfig::default()
        });
        off.session_up(t(0), &negotiated(gr(60, &[(V4, true)])));
        assert_eq!(
            off.session_down(t(1), &tcp_reset()),
            [HelperAction::RemoveAll]
        );
    }

    #[test]
    fn restart_time_expiry_removes_all_stale() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(gr(30, &[(V4, true), (V6, false)])));
        assert_eq!(
            h.session_down(t(0), &tcp_reset()),
            [HelperAction::KeepStale {
                families: vec![V4, V6]
            }]
        );
        assert!(h.handle_timeout(t(29)).is_empty());
        assert_eq!(h.handle_timeout(t(30)), [HelperAction::RemoveAllStale]);
        assert_eq!(h.restart(), None);
    }

    #[test]
    fn families_without_forwarding_state_go_when_the_peer_is_back() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(gr(60, &[(V4, true), (V6, true)])));
        h.session_down(t(1), &tcp_reset());
        // Back: IPv4 preserved, IPv6 without the F bit.
        assert_eq!(
            h.session_up(t(5), &negotiated(gr(60, &[(V4, true), (V6, false)]))),
            [HelperAction::RemoveStale(V6)]
        );
        assert_eq!(h.restart().unwrap().families, [V4]);
        // Stale path time runs out before End-of-RIB.
        assert_eq!(h.handle_timeout(t(305)), [HelperAction::RemoveAllStale]);
    }

    #[test]
    fn back_without_the_capability_removes_everything_stale() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(gr(60, &[(V4, true), (V6, true)])));
        h.session_down(t(1), &tcp_reset());
        assert_eq!(
            h.session_up(t(5), &negotiated(None)),
            [HelperAction::RemoveAllStale]
        );
        assert_eq!(h.restart(), None);
    }

    #[test]
    fn consecutive_restart_drops_the_earlier_stale_routes() {
        let mut h = helper();
        h.session_up(t(0), &negotiated(gr(60, &[(V4, true)])));
        h.session_down(t(1), &tcp_reset());
        h.session_up(t(2), &negotiated(gr(60, &[(V4, true)])));
        assert_eq!(
            h.session_down(t(3), &tcp_reset()),
            [
                HelperAction::RemoveAllStale,
                HelperAction::KeepStale { families: vec![V4] }
            ]
        );
        assert_eq!(h.poll_timeout(), Some(t(63)));
    }

    #[test]
    fn abandon_removes_what_is_kept() {
        let mut h = helper();
        assert!(h.abandon().is_empty());
        h.session_up(t(0), &negotiated(gr(60, &[(V4, true)])));
        h.session_down(t(1), &tcp_reset());
        assert_eq!(h.abandon(), [HelperAction::RemoveAllStale]);
        assert_eq!(h.poll_timeout(), None);
    }
}
