//! Best-path selection: RFC 4271 §9.1.2.2 with the RFC 4456 §9 additions, as a chain of
//! elimination steps that records for each losing path the step it lost at.
//!
//! The steps, in order (each keeps only the paths that are best at that step):
//!
//! 0. next hop resolvable (the IGP cost is known), else [`LostAt::Unreachable`];
//! 1. highest LOCAL_PREF (absent: the configured default, 100) — [`LostAt::LocalPref`];
//! 2. shortest AS_PATH, an AS_SET counting one and confederation segments zero —
//!    [`LostAt::AsPathLength`];
//! 3. lowest ORIGIN (IGP < EGP < INCOMPLETE) — [`LostAt::Origin`];
//! 4. lowest MULTI_EXIT_DISC among paths from the same neighbouring AS (absent counts 0;
//!    with `always_compare_med`, among all paths) — [`LostAt::Med`];
//! 5. eBGP over iBGP — [`LostAt::ExternalOverInternal`];
//! 6. lowest IGP cost to the next hop — [`LostAt::IgpCost`];
//!
//!    the paths left here are equal for forwarding and form the multipath (ECMP) set, up
//!    to `max_paths` of them, ordered by the remaining steps;
//! 7. shortest CLUSTER_LIST (RFC 4456 §9) — [`LostAt::ClusterListLength`];
//! 8. lowest ORIGINATOR_ID, or BGP identifier of the peer when absent (RFC 4456 §9) —
//!    [`LostAt::RouterId`];
//! 9. lowest peer address — [`LostAt::PeerAddress`];
//! 10. lowest ADD-PATH path identifier (so the result never depends on arrival order) —
//!     [`LostAt::PathId`].
//!
//! Step 4 is not a pairwise comparison (MED is only comparable within one neighbouring
//! AS, so "better than" is not transitive); running the steps as eliminations over the
//! whole candidate set, as RFC 4271 §9.1.2.2 describes, is what makes the result
//! independent of the order paths arrived in.

use core::cmp::Ordering;
use std::net::IpAddr;

/// Where a path lost against the best path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub enum LostAt {
    /// The next hop cannot be resolved: the path is not eligible.
    Unreachable = 2,
    /// Lower LOCAL_PREF.
    LocalPref = 3,
    /// Longer AS_PATH.
    AsPathLength = 4,
    /// Higher ORIGIN.
    Origin = 5,
    /// Higher MULTI_EXIT_DISC from the same neighbouring AS.
    Med = 6,
    /// Learned over iBGP while an eBGP path exists.
    ExternalOverInternal = 7,
    /// Higher IGP cost to the next hop.
    IgpCost = 8,
    /// Longer CLUSTER_LIST.
    ClusterListLength = 9,
    /// Higher ORIGINATOR_ID / BGP identifier.
    RouterId = 10,
    /// Higher peer address.
    PeerAddress = 11,
    /// Higher ADD-PATH path identifier from the same peer.
    PathId = 12,
}

/// A path's standing in its prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PathStatus {
    /// The best path.
    Best,
    /// In the multipath (ECMP) set with the best path.
    Multipath,
    /// Not used; lost at this step.
    Lost(LostAt),
}

impl PathStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            PathStatus::Best => 0,
            PathStatus::Multipath => 1,
            PathStatus::Lost(l) => l as u8,
        }
    }

    pub(crate) fn from_code(c: u8) -> PathStatus {
        PathStatus::Lost(match c {
            0 => return PathStatus::Best,
            1 => return PathStatus::Multipath,
            2 => LostAt::Unreachable,
            3 => LostAt::LocalPref,
            4 => LostAt::AsPathLength,
            5 => LostAt::Origin,
            6 => LostAt::Med,
            7 => LostAt::ExternalOverInternal,
            8 => LostAt::IgpCost,
            9 => LostAt::ClusterListLength,
            10 => LostAt::RouterId,
            11 => LostAt::PeerAddress,
            _ => LostAt::PathId,
        })
    }

    /// Whether the path is used for forwarding (best or multipath).
    pub fn is_used(self) -> bool {
        matches!(self, PathStatus::Best | PathStatus::Multipath)
    }
}

/// What selection needs to know about one path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub local_pref: u32,
    pub as_path_len: u32,
    pub origin: u8,
    pub med: u32,
    pub neighbor_as: u32,
    pub external: bool,
    /// `None`: next hop unresolvable.
    pub igp_cost: Option<u32>,
    pub cluster_list_len: u32,
    pub router_id: u32,
    pub peer_address: IpAddr,
    pub path_id: u32,
}

impl Candidate {
    /// Steps 7–10 as one lexicographic key.
    fn tie_break(&self, other: &Candidate) -> (Ordering, LostAt) {
        let steps = [
            (
                self.cluster_list_len.cmp(&other.cluster_list_len),
                LostAt::ClusterListLength,
            ),
            (self.router_id.cmp(&other.router_id), LostAt::RouterId),
            (
                self.peer_address.cmp(&other.peer_address),
                LostAt::PeerAddress,
            ),
            (self.path_id.cmp(&other.path_id), LostAt::PathId),
        ];
        for (o, at) in steps {
            if o != Ordering::Equal {
                return (o, at);
            }
        }
        (Ordering::Equal, LostAt::PathId)
    }
}

/// Selection options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    pub always_compare_med: bool,
    pub max_paths: usize,
}

/// Ranks the candidates: returns, for each, its status, and the order to keep them in
/// (best first, then multipath members, then the others). `order` and `status` are
/// output buffers.
pub(crate) fn rank(
    cands: &[Candidate],
    opts: Options,
    status: &mut Vec<PathStatus>,
    order: &mut Vec<usize>,
) {
    status.clear();
    order.clear();
    let n = cands.len();
    // `None` while still in the running.
    let mut lost: Vec<Option<LostAt>> = cands
        .iter()
        .map(|c| c.igp_cost.is_none().then_some(LostAt::Unreachable))
        .collect();

    fn eliminate<K: Ord + Copy>(
        cands: &[Candidate],
        lost: &mut [Option<LostAt>],
        at: LostAt,
        key: impl Fn(&Candidate) -> K,
    ) {
        let best = cands
            .iter()
            .zip(lost.iter())
            .filter(|(_, l)| l.is_none())
            .map(|(c, _)| key(c))
            .min();
        if let Some(best) = best {
            for (c, l) in cands.iter().zip(lost.iter_mut()) {
                if l.is_none() && key(c) > best {
                    *l = Some(at);
                }
            }
        }
    }

    eliminate(cands, &mut lost, LostAt::LocalPref, |c| {
        core::cmp::Reverse(c.local_pref)
    });
    eliminate(cands, &mut lost, LostAt::AsPathLength, |c| c.as_path_len);
    eliminate(cands, &mut lost, LostAt::Origin, |c| c.origin);
    if opts.always_compare_med {
        eliminate(cands, &mut lost, LostAt::Med, |c| c.med);
    } else {
        // RFC 4271 §9.1.2.2 (c): "remove from consideration all routes that are not the
        // lowest MED among routes from the same neighboring AS" — decided on the set as it
        // stands before this step, so the outcome does not depend on order.
        let beaten: Vec<bool> = (0..n)
            .map(|i| {
                let (Some(ci), None) = (cands.get(i), lost.get(i).copied().flatten()) else {
                    return false;
                };
                cands.iter().zip(lost.iter()).any(|(cj, lj)| {
                    lj.is_none() && cj.neighbor_as == ci.neighbor_as && cj.med < ci.med
                })
            })
            .collect();
        for (l, b) in lost.iter_mut().zip(beaten) {
            if b {
                *l = Some(LostAt::Med);
            }
        }
    }
    eliminate(cands, &mut lost, LostAt::ExternalOverInternal, |c| {
        !c.external
    });
    eliminate(cands, &mut lost, LostAt::IgpCost, |c| c.igp_cost);

    // The survivors are equal for forwarding; order them by the remaining steps.
    let mut survivors: Vec<usize> = (0..n)
        .filter(|&i| lost.get(i).is_some_and(Option::is_none))
        .collect();
    survivors.sort_by(|&a, &b| match (cands.get(a), cands.get(b)) {
        (Some(x), Some(y)) => x.tie_break(y).0,
        _ => Ordering::Equal,
    });
    status.resize(n, PathStatus::Lost(LostAt::Unreachable));
    let best = survivors.first().copied();
    for (pos, &i) in survivors.iter().enumerate() {
        let s = if pos == 0 {
            PathStatus::Best
        } else if pos < opts.max_paths.max(1) {
            PathStatus::Multipath
        } else {
            match (cands.get(i), best.and_then(|b| cands.get(b))) {
                (Some(c), Some(b)) => PathStatus::Lost(c.tie_break(b).1),
                _ => PathStatus::Lost(LostAt::PathId),
            }
        };
        if let Some(slot) = status.get_mut(i) {
            *slot = s;
        }
    }
    for (i, l) in lost.iter().enumerate() {
        if let (Some(at), Some(slot)) = (l, status.get_mut(i)) {
            *slot = PathStatus::Lost(*at);
        }
    }
    order.extend(survivors.iter().copied());
    // Losers after, those that got furthest first (stable among equals).
    let mut losers: Vec<usize> = (0..n)
        .filter(|&i| lost.get(i).is_some_and(Option::is_some))
        .collect();
    losers.sort_by_key(|&i| core::cmp::Reverse(lost.get(i).copied().flatten()));
    order.extend(losers);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn base(addr: u8) -> Candidate {
        Candidate {
            local_pref: 100,
            as_path_len: 2,
            origin: 0,
            med: 0,
            neighbor_as: 65001,
            external: true,
            igp_cost: Some(10),
            cluster_list_len: 0,
            router_id: u32::from(addr),
            peer_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, addr)),
            path_id: 0,
        }
    }

    const ONE: Options = Options {
        always_compare_med: false,
        max_paths: 1,
    };

    fn run(c: &[Candidate], opts: Options) -> (Vec<PathStatus>, Vec<usize>) {
        let (mut s, mut o) = (Vec::new(), Vec::new());
        rank(c, opts, &mut s, &mut o);
        (s, o)
    }

    /// `loser` differs from `winner` in one step; check that step is reported, in both
    /// arrival orders.
    fn check(winner: Candidate, loser: Candidate, at: LostAt) {
        let (s, o) = run(&[loser, winner], ONE);
        assert_eq!(s, vec![PathStatus::Lost(at), PathStatus::Best]);
        assert_eq!(o, vec![1, 0]);
        let (s, _) = run(&[winner, loser], ONE);
        assert_eq!(s, vec![PathStatus::Best, PathStatus::Lost(at)]);
    }

    #[test]
    fn step_unreachable_next_hop() {
        let mut l = base(1);
        l.igp_cost = None;
        l.local_pref = 1000;
        check(base(2), l, LostAt::Unreachable);
    }

    #[test]
    fn step_local_pref() {
        let mut w = base(2);
        w.local_pref = 200;
        w.as_path_len = 9;
        check(w, base(1), LostAt::LocalPref);
    }

    #[test]
    fn step_as_path_length() {
        let mut l = base(1);
        l.as_path_len = 3;
        l.origin = 0;
        let mut w = base(2);
        w.origin = 2;
        check(w, l, LostAt::AsPathLength);
    }

    #[test]
    fn step_origin() {
        let mut l = base(1);
        l.origin = 1;
        check(base(2), l, LostAt::Origin);
    }

    #[test]
    fn step_med_same_neighbor_only() {
        let mut l = base(1);
        l.med = 50;
        check(base(2), l, LostAt::Med);
        // Different neighbouring AS: MED not compared, falls through to router id.
        let mut other = base(3);
        other.med = 0;
        other.neighbor_as = 65002;
        let (s, _) = run(&[l, other], ONE);
        assert_eq!(
            s,
            vec![PathStatus::Best, PathStatus::Lost(LostAt::RouterId)]
        );
        // always-compare-med compares across neighbours.
        let (s, _) = run(
            &[l, other],
            Options {
                always_compare_med: true,
                max_paths: 1,
            },
        );
        assert_eq!(s, vec![PathStatus::Lost(LostAt::Med), PathStatus::Best]);
    }

    #[test]
    fn step_ebgp_over_ibgp() {
        let mut l = base(1);
        l.external = false;
        check(base(2), l, LostAt::ExternalOverInternal);
    }

    #[test]
    fn step_igp_cost() {
        let mut l = base(1);
        l.igp_cost = Some(20);
        check(base(2), l, LostAt::IgpCost);
    }

    #[test]
    fn step_cluster_list_length() {
        let mut l = base(1);
        l.cluster_list_len = 1;
        check(base(2), l, LostAt::ClusterListLength);
    }

    #[test]
    fn step_router_id() {
        let mut l = base(1);
        l.router_id = 99;
        check(base(2), l, LostAt::RouterId);
    }

    #[test]
    fn step_peer_address() {
        let mut w = base(1);
        let mut l = base(2);
        w.router_id = 5;
        l.router_id = 5;
        check(w, l, LostAt::PeerAddress);
    }

    #[test]
    fn step_path_id() {
        let w = base(1);
        let mut l = base(1);
        l.path_id = 7;
        check(w, l, LostAt::PathId);
    }

    #[test]
    fn multipath_takes_paths_equal_through_igp_cost() {
        let a = base(1);
        let b = base(2);
        let mut c = base(3);
        c.igp_cost = Some(11);
        let opts = Options {
            always_compare_med: false,
            max_paths: 4,
        };
        let (s, o) = run(&[c, b, a], opts);
        assert_eq!(
            s,
            vec![
                PathStatus::Lost(LostAt::IgpCost),
                PathStatus::Multipath,
                PathStatus::Best
            ]
        );
        assert_eq!(o, vec![2, 1, 0]);
        // max_paths caps the set; the excess loses at its tie-break step.
        let (s, _) = run(
            &[a, b],
            Options {
                always_compare_med: false,
                max_paths: 1,
            },
        );
        assert_eq!(
            s,
            vec![PathStatus::Best, PathStatus::Lost(LostAt::RouterId)]
        );
    }

    #[test]
    fn med_elimination_is_order_independent() {
        // The classic MED cycle: A (AS1, MED 10), B (AS1, MED 5), C (AS2, MED 0); pairwise
        // comparison gives a different winner depending on order.
        let mut a = base(1);
        a.neighbor_as = 1;
        a.med = 10;
        a.router_id = 1;
        let mut b = base(2);
        b.neighbor_as = 1;
        b.med = 5;
        b.router_id = 3;
        let mut c = base(3);
        c.neighbor_as = 2;
        c.med = 0;
        c.router_id = 2;
        let perms = [
            [a, b, c],
            [a, c, b],
            [b, a, c],
            [b, c, a],
            [c, a, b],
            [c, b, a],
        ];
        let mut winners = Vec::new();
        for p in perms {
            let (s, _) = run(&p, ONE);
            let w = p
                .iter()
                .zip(&s)
                .find(|(_, s)| **s == PathStatus::Best)
                .map(|(c, _)| c.router_id);
            winners.push(w);
        }
        assert!(winners.iter().all(|w| *w == Some(2)), "{winners:?}");
    }
}
