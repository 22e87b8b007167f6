//! The RIB: Adj-RIB-In and Loc-RIB in one table per family.
//!
//! Each prefix holds the paths every peer sent (after import processing — the Adj-RIB-In
//! post-policy), ordered best first; the best path and the multipath members at the front
//! are the Loc-RIB. There is no second copy of the Loc-RIB.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::{Attribute, ErrorAction, Family, Nlri, SessionParams, UpdateRef};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::attrs::{AttrId, AttrStore, Canonicalizer, NextHopAddr, PathAttrs};
use crate::best::{self, Candidate, PathStatus};
use crate::peer::{MaxPrefixAction, Peer, PeerConfig, PeerId, PeerKind};
use crate::policy::{Action, Verdict, apply_action};
use crate::table::{self as tbl, Lists, Path, PrefixTable, Slot, Sources, TableEntry};

/// RIB-wide configuration.
#[derive(Clone, Debug)]
pub struct RibConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Our CLUSTER_ID when reflecting routes (RFC 4456 §7); the router id when `None`.
    pub cluster_id: Option<Ipv4Addr>,
    /// Largest multipath (ECMP) set, best path included. 1 disables multipath.
    pub max_paths: usize,
    /// Compare MED between paths from different neighbouring ASes.
    pub always_compare_med: bool,
    /// LOCAL_PREF of paths that carry none (eBGP-learned and local routes).
    pub default_local_pref: u32,
}

impl RibConfig {
    /// Defaults: no multipath, MED compared per neighbouring AS, LOCAL_PREF 100.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        RibConfig {
            local_as,
            router_id,
            cluster_id: None,
            max_paths: 1,
            always_compare_med: false,
            default_local_pref: 100,
        }
    }

    /// The CLUSTER_ID in use.
    pub fn cluster_id(&self) -> Ipv4Addr {
        self.cluster_id.unwrap_or(self.router_id)
    }
}

/// Tells the RIB the IGP cost to a next hop (RFC 4271 §9.1.2.2 e). `None` means the next
/// hop is unreachable and the path is not eligible (RFC 4271 §9.1.2.1).
pub trait NextHopResolver: Send {
    /// Cost to reach `next_hop`, or `None` if it cannot be reached.
    fn igp_cost(&self, next_hop: IpAddr) -> Option<u32>;
}

/// Every next hop reachable at cost 0 (the default: directly connected eBGP peers).
#[derive(Clone, Copy, Debug, Default)]
pub struct AllReachable;

impl NextHopResolver for AllReachable {
    fn igp_cost(&self, _: IpAddr) -> Option<u32> {
        Some(0)
    }
}

/// What changed for one prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ChangeKind {
    /// A new best path (the prefix is new, or the best path or its attributes changed).
    /// The multipath set may have changed too.
    Best,
    /// Same best path; the multipath (ECMP) set changed.
    Multipath,
    /// No usable path any more: withdraw it and remove it from forwarding.
    Withdrawn,
}

/// A delta returned by the RIB: what a daemon must send and install.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Change {
    /// The prefix.
    pub prefix: IpNet,
    /// What happened.
    pub kind: ChangeKind,
}

/// Errors of the RIB API (configuration misuse; input from peers never errors).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum RibError {
    /// No such peer.
    UnknownPeer(PeerId),
    /// The peer's session is not up ([`Rib::peer_up`]).
    PeerNotUp(PeerId),
    /// 65,535 peers are configured already.
    TooManyPeers,
    /// The prefix's family does not match the next hop given.
    FamilyMismatch,
    /// No such update group.
    UnknownGroup(crate::export::GroupId),
    /// Encoding an UPDATE failed (inconsistent configuration, e.g. an IPv6 next hop for
    /// IPv4 prefixes on a session without extended next hop).
    Encode(bgp_wire::EncodeError),
}

impl fmt::Display for RibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RibError::UnknownPeer(p) => write!(f, "unknown peer {}", p.0),
            RibError::PeerNotUp(p) => write!(f, "peer {} is not up: call peer_up first", p.0),
            RibError::TooManyPeers => f.write_str("too many peers (limit 65535)"),
            RibError::FamilyMismatch => f.write_str("prefix and next hop families differ"),
            RibError::UnknownGroup(g) => write!(f, "unknown update group {g:?}"),
            RibError::Encode(e) => write!(f, "encoding an UPDATE failed: {e:?}"),
        }
    }
}

impl std::error::Error for RibError {}

/// The result of importing one UPDATE (or one owned announcement).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// What changed in the Loc-RIB.
    pub changes: Vec<Change>,
    /// Prefixes rejected by the loop checks, RFC 4456 §8, import policy or max-prefix.
    pub rejected: u32,
    /// The peer now holds more paths than its max-prefix limit allows.
    pub max_prefix_exceeded: bool,
    /// Max-prefix action is [`MaxPrefixAction::Shutdown`] and the limit was crossed: the
    /// daemon should send a Cease NOTIFICATION (RFC 4486 subcode 1) and call
    /// [`Rib::peer_down`].
    pub shutdown: bool,
    /// The UPDATE was this family's End-of-RIB marker (RFC 4724 §2).
    pub end_of_rib: Option<Family>,
}

/// One path as the RIB shows it.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    /// The prefix.
    pub prefix: IpNet,
    /// Who sent it ([`PeerId::LOCAL`] for locally originated routes).
    pub peer: PeerId,
    /// ADD-PATH identifier, if the peer sent one.
    pub path_id: Option<u32>,
    /// Interned attribute set id.
    pub attr_id: AttrId,
    /// The attributes (after import policy).
    pub attrs: &'a PathAttrs,
    /// Best, multipath, or where it lost.
    pub status: PathStatus,
    /// Kept from a restarting peer (RFC 4724), not yet refreshed.
    pub stale: bool,
}

/// Best paths from one peer ([`Rib::best_path_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BestCounts {
    /// Prefixes whose best path came from the peer.
    pub best: usize,
    /// Of those, the paths kept stale through the peer's restart.
    pub stale: usize,
}

/// A prefix type the RIB keeps a table for.
pub(crate) trait Pfx: tbl::PrefixKey + Ord + Default + Into<IpNet> + fmt::Debug {
    #[allow(dead_code)]
    const FAMILY: Family;
    #[allow(dead_code)]
    fn table(t: &Tables) -> &PrefixTable<Self>;
    /// The table and the path lists.
    fn split(t: &mut Tables) -> (&mut PrefixTable<Self>, &mut Lists) {
        let (map, lists, _) = Self::split_tombs(t);
        (map, lists)
    }
    /// The table, the path lists and the count of its prefixes kept only for a withdrawal.
    fn split_tombs(t: &mut Tables) -> (&mut PrefixTable<Self>, &mut Lists, &mut usize);
    /// The prefix, truncated, if `net` is of this family.
    fn from_net(net: IpNet) -> Option<Self>;
    /// Appends the prefix to wire-form NLRI.
    fn push_to(self, buf: &mut bgp_wire::NlriBuf) -> Result<(), bgp_wire::EncodeError>;
}

impl Pfx for Ipv4Net {
    const FAMILY: Family = Family::IPV4_UNICAST;
    fn table(t: &Tables) -> &PrefixTable<Self> {
        &t.v4
    }
    fn split_tombs(t: &mut Tables) -> (&mut PrefixTable<Self>, &mut Lists, &mut usize) {
        (&mut t.v4, &mut t.lists, &mut t.tombs_v4)
    }
    fn from_net(net: IpNet) -> Option<Self> {
        match net {
            IpNet::V4(p) => Some(p.trunc()),
            IpNet::V6(_) => None,
        }
    }
    fn push_to(self, buf: &mut bgp_wire::NlriBuf) -> Result<(), bgp_wire::EncodeError> {
        buf.push_v4(self)
    }
}

impl Pfx for Ipv6Net {
    const FAMILY: Family = Family::IPV6_UNICAST;
    fn table(t: &Tables) -> &PrefixTable<Self> {
        &t.v6
    }
    fn split_tombs(t: &mut Tables) -> (&mut PrefixTable<Self>, &mut Lists, &mut usize) {
        (&mut t.v6, &mut t.lists, &mut t.tombs_v6)
    }
    fn from_net(net: IpNet) -> Option<Self> {
        match net {
            IpNet::V6(p) => Some(p.trunc()),
            IpNet::V4(_) => None,
        }
    }
    fn push_to(self, buf: &mut bgp_wire::NlriBuf) -> Result<(), bgp_wire::EncodeError> {
        buf.push_v6(self)
    }
}

/// The two unicast tables.
#[derive(Default)]
pub(crate) struct Tables {
    pub v4: PrefixTable<Ipv4Net>,
    pub v6: PrefixTable<Ipv6Net>,
    /// Path lists of prefixes with several paths, both families.
    pub lists: Lists,
    /// Prefixes with no path left that an update group has not withdrawn yet
    /// ([`Slot::is_empty`]), per family: not counted as prefixes.
    pub tombs_v4: usize,
    pub tombs_v6: usize,
}

/// Prefixes whose index words and rows [`Rib::read_ahead`] loads at a time: about as many
/// cache misses as a core keeps in flight.
const READ_AHEAD: usize = 16;

/// Reusable buffers, so that steady-state import allocates nothing per prefix.
#[derive(Default)]
pub(crate) struct Scratch {
    sel: SelScratch,
    work: Vec<Path>,
    old_used: Vec<(u32, AttrId)>,
    verdict: Verdict,
    /// Import outcomes of the current UPDATE: rules applied → interned result.
    outcomes: Vec<(Vec<u16>, Option<AttrId>)>,
    /// The withdrawals of the current UPDATE, sorted.
    withdrawn: Vec<Nlri>,
    released: Vec<AttrId>,
    /// What [`Rib::read_ahead`] loaded (kept so the loads are not optimised away).
    read_ahead: u64,
}

/// Buffers of [`SelectCtx::reselect`].
#[derive(Default)]
pub(crate) struct SelScratch {
    cands: Vec<Candidate>,
    status: Vec<PathStatus>,
    order: Vec<usize>,
    reordered: Vec<Path>,
}

/// Read-only view of what selection needs.
pub(crate) struct SelectCtx<'a> {
    pub attrs: &'a AttrStore,
    pub peers: &'a [Option<Peer>],
    pub sources: &'a Sources,
    pub resolver: &'a dyn NextHopResolver,
    pub cfg: &'a RibConfig,
}

impl SelectCtx<'_> {
    fn igp_cost(&self, a: &PathAttrs) -> Option<u32> {
        let nh = a.next_hop();
        if nh.is_unspecified() {
            Some(0)
        } else {
            self.resolver.igp_cost(nh.addr())
        }
    }

    fn candidate(&self, p: Path) -> Candidate {
        let peer = self
            .peers
            .get(self.sources.peer(p.source()).index())
            .and_then(Option::as_ref);
        let (external, router_id, address) = match peer {
            Some(peer) if peer.kind == PeerKind::Local => {
                (true, self.cfg.router_id, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            }
            Some(peer) => (peer.is_external(), peer.router_id, peer.config.address),
            None => (false, Ipv4Addr::BROADCAST, IpAddr::V4(Ipv4Addr::BROADCAST)),
        };
        let Some(a) = self.attrs.get(p.attrs) else {
            return Candidate {
                local_pref: 0,
                as_path_len: u32::MAX,
                origin: u8::MAX,
                med: u32::MAX,
                neighbor_as: 0,
                external,
                igp_cost: None,
                cluster_list_len: u32::MAX,
                router_id: u32::MAX,
                peer_address: address,
                path_id: u32::MAX,
            };
        };
        Candidate {
            local_pref: a.local_pref().unwrap_or(self.cfg.default_local_pref),
            as_path_len: a.as_path_len() as u32,
            origin: a.origin() as u8,
            med: a.med().unwrap_or(0),
            neighbor_as: a.neighbor_as().unwrap_or(self.cfg.local_as),
            external,
            igp_cost: self.igp_cost(a),
            cluster_list_len: a.cluster_list_len() as u32,
            router_id: u32::from(a.originator_id().unwrap_or(router_id)),
            peer_address: address,
            path_id: self.sources.path_id(p.source()).unwrap_or(0),
        }
    }

    /// Re-ranks the paths of one prefix in place.
    fn reselect(&self, paths: &mut [Path], s: &mut SelScratch) {
        if let [p] = paths {
            let eligible = self.attrs.get(p.attrs).and_then(|a| self.igp_cost(a));
            p.set_status(if eligible.is_some() {
                PathStatus::Best
            } else {
                PathStatus::Lost(best::LostAt::Unreachable)
            });
            return;
        }
        s.cands.clear();
        s.cands.extend(paths.iter().map(|&p| self.candidate(p)));
        best::rank(
            &s.cands,
            best::Options {
                always_compare_med: self.cfg.always_compare_med,
                max_paths: self.cfg.max_paths,
            },
            &mut s.status,
            &mut s.order,
        );
        s.reordered.clear();
        for &i in &s.order {
            if let (Some(&p), Some(&st)) = (paths.get(i), s.status.get(i)) {
                let mut p = p;
                p.set_status(st);
                s.reordered.push(p);
            }
        }
        if s.reordered.len() == paths.len() {
            paths.copy_from_slice(&s.reordered);
        }
    }
}

fn snapshot(paths: &[Path], out: &mut Vec<(u32, AttrId)>) {
    out.clear();
    out.extend(tbl::used(paths).iter().map(|p| p.identity()));
}

/// The change between the used paths before (`old`) and now.
fn diff(old: &[(u32, AttrId)], paths: &[Path]) -> Option<ChangeKind> {
    let used = tbl::used(paths);
    match (old.first(), used.first()) {
        (None, None) => None,
        (Some(_), None) => Some(ChangeKind::Withdrawn),
        (None, Some(_)) => Some(ChangeKind::Best),
        (Some(o), Some(n)) if *o != n.identity() => Some(ChangeKind::Best),
        _ => {
            let same =
                old.len() == used.len() && old.iter().zip(used).all(|(o, n)| *o == n.identity());
            (!same).then_some(ChangeKind::Multipath)
        }
    }
}

/// What [`Rib::set_path`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    Added,
    Replaced,
    Unchanged,
    Removed,
    Absent,
}

/// The routing tables of a speaker.
///
/// See the crate documentation for the model and an example.
pub struct Rib {
    pub(crate) cfg: RibConfig,
    pub(crate) attrs: AttrStore,
    pub(crate) peers: Vec<Option<Peer>>,
    pub(crate) sources: Sources,
    pub(crate) tables: Tables,
    resolver: Box<dyn NextHopResolver>,
    canon: Canonicalizer,
    scratch: Scratch,
    pub(crate) local: crate::local::LocalRoutes,
    pub(crate) groups: Vec<Option<crate::export::Group>>,
    /// The last [`Peer::stamp`] handed out.
    stamps: u32,
}

impl fmt::Debug for Rib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rib")
            .field("config", &self.cfg)
            .field("ipv4_prefixes", &self.prefix_count().0)
            .field("ipv6_prefixes", &self.prefix_count().1)
            .field("attribute_sets", &self.attrs.len())
            .finish()
    }
}

impl Rib {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Self {
        Rib {
            cfg: config,
            attrs: AttrStore::new(),
            peers: vec![Some(Peer::local())],
            sources: Sources::new(),
            tables: Tables {
                v4: PrefixTable::default(),
                v6: PrefixTable::default(),
                lists: Lists::default(),
                tombs_v4: 0,
                tombs_v6: 0,
            },
            resolver: Box::new(AllReachable),
            canon: Canonicalizer::new(),
            scratch: Scratch::default(),
            local: crate::local::LocalRoutes::default(),
            groups: Vec::new(),
            stamps: 1,
        }
    }

    /// A new [`Peer::stamp`].
    fn next_stamp(&mut self) -> u32 {
        // Wraps only after four billion sessions; 0 stays unused (export caches: "none").
        self.stamps = self.stamps.checked_add(1).unwrap_or(2);
        self.stamps
    }

    /// The stamp of the peer a path came from (0: no such peer).
    pub(crate) fn stamp_of(&self, peer: PeerId) -> u32 {
        self.peers
            .get(peer.index())
            .and_then(Option::as_ref)
            .map_or(0, |p| p.stamp)
    }

    /// The configuration.
    pub fn config(&self) -> &RibConfig {
        &self.cfg
    }

    /// Replaces the next-hop resolver and re-runs selection everywhere; returns the
    /// changes. Call [`Rib::next_hops_changed`] when the resolver's answers change.
    pub fn set_resolver(&mut self, resolver: Box<dyn NextHopResolver>) -> Vec<Change> {
        self.resolver = resolver;
        self.next_hops_changed()
    }

    /// Re-runs best-path selection for every prefix (after an IGP change).
    pub fn next_hops_changed(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        self.sweep::<Ipv4Net>(|_, _| false, true, &mut changes);
        self.sweep::<Ipv6Net>(|_, _| false, true, &mut changes);
        changes
    }

    /// Adds a peer.
    pub fn add_peer(&mut self, config: PeerConfig) -> Result<PeerId, RibError> {
        let mut peer = Peer::new(config, self.cfg.local_as);
        peer.stamp = self.next_stamp();
        let free = self
            .peers
            .iter()
            .skip(1)
            .position(Option::is_none)
            .map(|i| i + 1);
        let index = match free {
            Some(i) => i,
            None => {
                if self.peers.len() > usize::from(u16::MAX) {
                    return Err(RibError::TooManyPeers);
                }
                self.peers.push(None);
                self.peers.len() - 1
            }
        };
        if let Some(slot) = self.peers.get_mut(index) {
            *slot = Some(peer);
        }
        Ok(PeerId(index as u16))
    }

    /// Removes a peer and its paths.
    pub fn remove_peer(&mut self, peer: PeerId) -> Result<Vec<Change>, RibError> {
        let changes = self.peer_down(peer)?;
        if let Some(slot) = self.peers.get_mut(peer.index()) {
            *slot = None;
        }
        Ok(changes)
    }

    pub(crate) fn peer(&self, peer: PeerId) -> Result<&Peer, RibError> {
        if peer == PeerId::LOCAL {
            return Err(RibError::UnknownPeer(peer));
        }
        self.peers
            .get(peer.index())
            .and_then(Option::as_ref)
            .ok_or(RibError::UnknownPeer(peer))
    }

    pub(crate) fn peer_mut(&mut self, peer: PeerId) -> Result<&mut Peer, RibError> {
        if peer == PeerId::LOCAL {
            return Err(RibError::UnknownPeer(peer));
        }
        self.peers
            .get_mut(peer.index())
            .and_then(Option::as_mut)
            .ok_or(RibError::UnknownPeer(peer))
    }

    /// A peer's configuration.
    pub fn peer_config(&self, peer: PeerId) -> Result<&PeerConfig, RibError> {
        Ok(&self.peer(peer)?.config)
    }

    /// Records the families negotiated on a peer's session (RFC 4760 §8); the peer is sent
    /// nothing of any other family. Call it before [`Rib::peer_up`]; until it is called a
    /// peer takes IPv4 and IPv6 unicast.
    pub fn set_negotiated_families(
        &mut self,
        peer: PeerId,
        families: impl IntoIterator<Item = Family>,
    ) -> Result<(), RibError> {
        self.peer_mut(peer)?.families = families.into_iter().collect();
        Ok(())
    }

    /// Records our address on a peer's session when the configuration did not give one: it
    /// is the next hop we advertise to an eBGP peer (and with next-hop-self). Call it before
    /// [`Rib::peer_up`], which places the peer in its update group.
    pub fn learn_local_address(&mut self, peer: PeerId, local: IpAddr) -> Result<(), RibError> {
        let p = self.peer_mut(peer)?;
        match local {
            IpAddr::V4(a) if p.config.local_v4.is_none() => p.config.local_v4 = Some(a),
            IpAddr::V6(a) if p.config.local_v6.is_none() => p.config.local_v6 = Some(a),
            _ => {}
        }
        Ok(())
    }

    /// Marks the session established with the parameters negotiated in OPEN. If the peer
    /// was restarting (graceful restart), its stale paths stay until End-of-RIB or
    /// [`Rib::restart_timer_expired`].
    pub fn peer_up(
        &mut self,
        peer: PeerId,
        router_id: Ipv4Addr,
        session: SessionParams,
    ) -> Result<(), RibError> {
        let stamp = self.next_stamp();
        let p = self.peer_mut(peer)?;
        p.router_id = router_id;
        p.stamp = stamp;
        p.session = Some(session);
        p.max_prefix_hit = false;
        self.join_group(peer);
        Ok(())
    }

    /// The session went down: removes every path of the peer and returns the changes
    /// (RFC 4271 §9: "all routes learned from that peer are removed").
    pub fn peer_down(&mut self, peer: PeerId) -> Result<Vec<Change>, RibError> {
        let p = self.peer_mut(peer)?;
        p.session = None;
        p.restarting = false;
        self.leave_group(peer);
        let mut changes = Vec::new();
        self.remove_where(|path_peer, _| path_peer == peer, &mut changes);
        Ok(changes)
    }

    pub(crate) fn remove_where(
        &mut self,
        pred: impl Fn(PeerId, Path) -> bool + Copy,
        changes: &mut Vec<Change>,
    ) {
        self.sweep::<Ipv4Net>(pred, false, changes);
        self.sweep::<Ipv6Net>(pred, false, changes);
    }

    /// Removes paths matching `pred` from one family; re-selects where something was
    /// removed, or everywhere with `reselect_all`.
    pub(crate) fn sweep<P: Pfx>(
        &mut self,
        pred: impl Fn(PeerId, Path) -> bool,
        reselect_all: bool,
        changes: &mut Vec<Change>,
    ) {
        let Rib {
            cfg,
            attrs,
            peers,
            sources,
            tables,
            resolver,
            scratch,
            ..
        } = self;
        let mut emptied: Vec<u32> = Vec::new();
        let mut removed_sources: Vec<u32> = Vec::new();
        let (map, lists, tombs) = P::split_tombs(tables);
        {
            let ctx = SelectCtx {
                attrs,
                peers,
                sources,
                resolver: resolver.as_ref(),
                cfg,
            };
            let Scratch {
                sel,
                work,
                old_used: old,
                released,
                ..
            } = scratch;
            for (row, prefix, slot) in map.rows_mut() {
                if slot.is_empty() {
                    continue;
                }
                let hit = lists
                    .get(slot)
                    .iter()
                    .any(|&p| pred(sources.peer(p.source()), p));
                if !hit && !reselect_all {
                    continue;
                }
                lists.load(slot, work);
                snapshot(work, old);
                work.retain(|&p| {
                    let gone = pred(sources.peer(p.source()), p);
                    if gone {
                        released.push(p.attrs);
                        removed_sources.push(p.source());
                    }
                    !gone
                });
                if work.is_empty() {
                    lists.store(slot, &[]);
                    if slot.out() == 0 {
                        emptied.push(row);
                    } else {
                        // Kept until the update groups that have it withdraw it.
                        *tombs += 1;
                    }
                    if !old.is_empty() {
                        changes.push(Change {
                            prefix: prefix.into(),
                            kind: ChangeKind::Withdrawn,
                        });
                    }
                    continue;
                }
                ctx.reselect(work, sel);
                if let Some(kind) = diff(old, work) {
                    changes.push(Change {
                        prefix: prefix.into(),
                        kind,
                    });
                }
                lists.store(slot, work);
            }
        }
        map.remove_rows(&emptied);
        map.tidy();
        for s in removed_sources {
            let peer = sources.peer(s);
            if let Some(Some(p)) = peers.get_mut(peer.index()) {
                p.paths = p.paths.saturating_sub(1);
            }
            sources.release(s);
        }
        for id in scratch.released.drain(..) {
            attrs.release(id);
        }
        scratch.released.shrink_to(1024);
    }

    /// Sets (`Some`, carrying one reference to `new`) or removes (`None`) the path of
    /// `source` for `prefix`, re-selects, and records the change.
    fn set_path<P: Pfx>(
        &mut self,
        prefix: P,
        source: u32,
        new: Option<AttrId>,
        changes: &mut Vec<Change>,
    ) -> Effect {
        let Rib {
            cfg,
            attrs,
            peers,
            sources,
            tables,
            resolver,
            scratch,
            ..
        } = self;
        let ctx = SelectCtx {
            attrs,
            peers,
            sources,
            resolver: resolver.as_ref(),
            cfg,
        };
        let (map, lists, tombs) = P::split_tombs(tables);
        let Scratch {
            sel,
            work,
            old_used: old,
            ..
        } = scratch;
        let mut release = None;
        let mut now_empty = false;
        let effect = match map.entry(prefix) {
            TableEntry::Vacant(v) => match new {
                None => Effect::Absent,
                Some(id) => {
                    let mut path = [Path::new(id, source)];
                    ctx.reselect(&mut path, sel);
                    if tbl::best(&path).is_some() {
                        changes.push(Change {
                            prefix: prefix.into(),
                            kind: ChangeKind::Best,
                        });
                    }
                    let [p] = path;
                    v.insert(Slot::one(p));
                    Effect::Added
                }
            },
            TableEntry::Occupied(mut o) => {
                let slot = o.get_mut();
                let was_tomb = slot.is_empty();
                lists.load(slot, work);
                snapshot(work, old);
                let at = work.iter().position(|p| p.source() == source);
                let effect = match (at.and_then(|i| work.get_mut(i).map(|p| (i, p))), new) {
                    (None, None) => Effect::Absent,
                    (Some((_, p)), Some(id)) if p.attrs == id => {
                        // Same attributes again: refreshes a stale path.
                        release = Some(id);
                        if p.is_stale() {
                            p.set_stale(false);
                            lists.store(slot, work);
                        }
                        Effect::Unchanged
                    }
                    (Some((_, p)), Some(id)) => {
                        release = Some(p.attrs);
                        *p = Path::new(id, source);
                        Effect::Replaced
                    }
                    (Some((i, p)), None) => {
                        release = Some(p.attrs);
                        work.remove(i);
                        Effect::Removed
                    }
                    (None, Some(id)) => {
                        work.push(Path::new(id, source));
                        Effect::Added
                    }
                };
                if was_tomb && effect == Effect::Added {
                    *tombs = tombs.saturating_sub(1);
                }
                if matches!(effect, Effect::Added | Effect::Replaced | Effect::Removed) {
                    if work.is_empty() {
                        lists.store(slot, &[]);
                        if slot.out() == 0 {
                            o.remove();
                            now_empty = true;
                        } else {
                            // Kept until the update groups that have it withdraw it.
                            *tombs += 1;
                        }
                        if !old.is_empty() {
                            changes.push(Change {
                                prefix: prefix.into(),
                                kind: ChangeKind::Withdrawn,
                            });
                        }
                    } else {
                        ctx.reselect(work, sel);
                        if let Some(kind) = diff(old, work) {
                            changes.push(Change {
                                prefix: prefix.into(),
                                kind,
                            });
                        }
                        lists.store(slot, work);
                    }
                }
                effect
            }
        };
        if now_empty {
            map.tidy();
        }
        if let Some(id) = release {
            attrs.release(id);
        }
        let peer = sources.peer(source);
        match effect {
            Effect::Added => {
                if let Some(Some(p)) = peers.get_mut(peer.index()) {
                    p.paths = p.paths.saturating_add(1);
                }
            }
            Effect::Removed => {
                if let Some(Some(p)) = peers.get_mut(peer.index()) {
                    p.paths = p.paths.saturating_sub(1);
                }
                sources.release(source);
            }
            // The caller took a source reference for the path it set; one is enough.
            Effect::Replaced | Effect::Unchanged => sources.release(source),
            Effect::Absent => {}
        }
        effect
    }

    fn set_path_any(
        &mut self,
        prefix: IpNet,
        source: u32,
        new: Option<AttrId>,
        changes: &mut Vec<Change>,
    ) -> Effect {
        match prefix {
            IpNet::V4(p) => self.set_path(p.trunc(), source, new, changes),
            IpNet::V6(p) => self.set_path(p.trunc(), source, new, changes),
        }
    }

    fn has_path(&self, prefix: IpNet, source: u32) -> bool {
        self.paths(prefix)
            .is_some_and(|l| l.iter().any(|p| p.source() == source))
    }

    fn session(&self, peer: PeerId) -> Result<SessionParams, RibError> {
        self.peer(peer)?.session.ok_or(RibError::PeerNotUp(peer))
    }

    /// Imports one decoded UPDATE from `peer`: withdrawals, RFC 7606 outcomes,
    /// announcements through import processing, End-of-RIB.
    pub fn apply_update(
        &mut self,
        peer: PeerId,
        update: &UpdateRef,
    ) -> Result<UpdateOutcome, RibError> {
        self.session(peer)?;
        let mut out = UpdateOutcome::default();
        if let Some(family) = update.end_of_rib() {
            out.end_of_rib = Some(family);
            out.changes = self.end_of_rib(peer, family)?;
            return Ok(out);
        }
        // RFC 7606 §2 "AFI/SAFI disable": drop the family's routes from this peer.
        if let Some(ErrorAction::AfiSafiDisable(family)) = update.action() {
            let pred = move |p: PeerId, _: Path| p == peer;
            if family == Family::IPV4_UNICAST {
                self.sweep::<Ipv4Net>(pred, false, &mut out.changes);
            } else if family == Family::IPV6_UNICAST {
                self.sweep::<Ipv6Net>(pred, false, &mut out.changes);
            }
            return Ok(out);
        }
        // Withdrawals of one UPDATE are independent of each other; the list is copied out
        // because withdrawing needs the RIB mutably while the UPDATE is borrowed.
        let mut withdrawn = core::mem::take(&mut self.scratch.withdrawn);
        withdrawn.clear();
        withdrawn.extend(update.withdrawn_all());
        self.withdraw_all(peer, &withdrawn, &mut out.changes);
        withdrawn.clear();
        if withdrawn.capacity() > 4096 {
            withdrawn = Vec::new();
        }
        self.scratch.withdrawn = withdrawn;
        // RFC 7606 §2 "treat-as-withdraw": every announced prefix is withdrawn.
        if update.is_treat_as_withdraw() {
            for n in update.announced() {
                self.withdraw_one(peer, n, &mut out.changes);
            }
            return Ok(out);
        }
        let has_classic = !update.nlri().is_empty();
        let mp = update.mp_reach().filter(|m| m.family.is_ip());
        if !has_classic && mp.is_none_or(|m| m.nlri().is_empty()) {
            return Ok(out);
        }
        let mut canon = core::mem::take(&mut self.canon);
        let raw = canon.canonical_update(update);
        if has_classic {
            match update.next_hop() {
                Some(nh) => {
                    self.import_set(peer, raw, NextHopAddr::V4(nh), update.nlri(), &mut out)
                }
                None => {
                    for n in update.nlri() {
                        self.withdraw_one(peer, n, &mut out.changes);
                    }
                }
            }
        }
        if let Some(m) = mp {
            match NextHopAddr::from_wire(&m.next_hop()) {
                Some(nh) => self.import_set(peer, raw, nh, m.nlri(), &mut out),
                None => {
                    for n in m.nlri() {
                        self.withdraw_one(peer, n, &mut out.changes);
                    }
                }
            }
        }
        self.canon = canon;
        Ok(out)
    }

    /// Imports an announcement given as owned attributes (AS numbers 4 octets wide):
    /// tests, route injection, anything not read off the wire.
    pub fn announce(
        &mut self,
        peer: PeerId,
        next_hop: NextHopAddr,
        attributes: &[Attribute],
        nlri: impl IntoIterator<Item = Nlri>,
    ) -> Result<UpdateOutcome, RibError> {
        self.session(peer)?;
        let mut out = UpdateOutcome::default();
        let mut canon = core::mem::take(&mut self.canon);
        let raw = canon.canonical_attributes(attributes);
        let nlri: Vec<Nlri> = nlri.into_iter().collect();
        self.import_set(peer, raw, next_hop, nlri.iter().copied(), &mut out);
        self.canon = canon;
        Ok(out)
    }

    /// Withdraws prefixes sent by `peer`.
    pub fn withdraw(
        &mut self,
        peer: PeerId,
        nlri: impl IntoIterator<Item = Nlri>,
    ) -> Result<Vec<Change>, RibError> {
        self.peer(peer)?;
        let mut changes = Vec::new();
        let nlri: Vec<Nlri> = nlri.into_iter().collect();
        self.withdraw_all(peer, &nlri, &mut changes);
        Ok(changes)
    }

    /// Withdraws each of `nlri`, reading the index ahead a window at a time.
    fn withdraw_all(&mut self, peer: PeerId, nlri: &[Nlri], changes: &mut Vec<Change>) {
        for window in nlri.chunks(READ_AHEAD) {
            self.read_ahead(window.iter().copied());
            for &n in window {
                self.withdraw_one(peer, n, changes);
            }
        }
    }

    fn withdraw_one(&mut self, peer: PeerId, n: Nlri, changes: &mut Vec<Change>) {
        if let Some(source) = self.sources.find(peer, n.path_id) {
            self.set_path_any(n.prefix, source, None, changes);
        }
    }

    /// Why an attribute set from `peer` must be ignored before policy, if it must.
    fn import_check(&self, peer: &Peer, a: &PathAttrs) -> bool {
        // RFC 4271 §9.1.2: a route whose AS_PATH contains our AS is a loop (allowas-in
        // relaxes this for hub-and-spoke designs that reuse an AS).
        if peer.kind != PeerKind::Local {
            let seen = a.as_path().filter(|&x| x == self.cfg.local_as).count();
            if seen > usize::from(peer.config.allowas_in) {
                return false;
            }
        }
        // RFC 4456 §8: "A router that recognizes the ORIGINATOR_ID attribute SHOULD ignore
        // a route received with its BGP Identifier as the ORIGINATOR_ID."
        if a.originator_id() == Some(self.cfg.router_id) {
            return false;
        }
        // RFC 4456 §8: "If the local CLUSTER_ID is found in the CLUSTER_LIST, the
        // advertisement received SHOULD be ignored."
        let cluster = self.cfg.cluster_id();
        if a.cluster_list().any(|c| c == cluster) {
            return false;
        }
        true
    }

    /// Loads, for the next window of prefixes to import or withdraw, the index word where
    /// each would be found and the row of each that is present, one after another: the
    /// loads miss the cache together and overlap, where the lookups that follow would wait
    /// for each miss in turn (see [`crate::table::PrefixTable::read_ahead`]).
    ///
    /// The hashes are taken first and the loads issued after, in loops of a few
    /// instructions each: that way they all fit in the core's window at once.
    fn read_ahead(&mut self, nlri: impl Iterator<Item = Nlri>) {
        let mut v4 = [0u32; READ_AHEAD];
        let mut v6 = [0u32; READ_AHEAD];
        let (mut n4, mut n6) = (0, 0);
        for n in nlri.take(READ_AHEAD) {
            let (hashes, count, h) = match n.prefix {
                IpNet::V4(p) => (&mut v4, &mut n4, self.tables.v4.hash(p.trunc())),
                IpNet::V6(p) => (&mut v6, &mut n6, self.tables.v6.hash(p.trunc())),
            };
            if let Some(slot) = hashes.get_mut(*count) {
                *slot = h;
                *count += 1;
            }
        }
        self.scratch.read_ahead = self.tables.v4.read_ahead(v4.get(..n4).unwrap_or(&[]))
            ^ self.tables.v6.read_ahead(v6.get(..n6).unwrap_or(&[]));
    }

    /// Import processing for prefixes sharing one attribute set.
    fn import_set(
        &mut self,
        peer_id: PeerId,
        raw: &[u8],
        next_hop: NextHopAddr,
        nlri: impl Iterator<Item = Nlri> + Clone,
        out: &mut UpdateOutcome,
    ) {
        let base = self.attrs.intern(raw, next_hop);
        let Ok(peer) = self.peer(peer_id) else {
            self.attrs.release(base);
            return;
        };
        let accepted = self
            .attrs
            .get(base)
            .is_some_and(|a| self.import_check(peer, a));
        let plain = peer.config.import.is_accept_all() && peer.import_local_pref.is_none();
        let max_prefix = peer.config.max_prefix;
        let mut outcomes = core::mem::take(&mut self.scratch.outcomes);
        outcomes.clear();
        let mut ahead = nlri.clone();
        for (k, n) in nlri.enumerate() {
            if k % READ_AHEAD == 0 {
                self.read_ahead(ahead.by_ref().take(READ_AHEAD));
            }
            if !accepted {
                out.rejected += 1;
                self.withdraw_one(peer_id, n, &mut out.changes);
                continue;
            }
            let id = if plain {
                Some(base)
            } else {
                self.import_policy(peer_id, base, &n.prefix, &mut outcomes)
            };
            let Some(id) = id else {
                out.rejected += 1;
                self.withdraw_one(peer_id, n, &mut out.changes);
                continue;
            };
            let Some(source) = self.sources.acquire(peer_id, n.path_id) else {
                out.rejected += 1;
                continue;
            };
            if let Some(limit) = max_prefix {
                let held = self.peer(peer_id).map_or(0, |p| p.paths);
                if held >= limit.limit && !self.has_path(n.prefix, source) {
                    out.max_prefix_exceeded = true;
                    if let Ok(p) = self.peer_mut(peer_id) {
                        p.max_prefix_hit = true;
                    }
                    match limit.action {
                        MaxPrefixAction::Warn => {}
                        MaxPrefixAction::DropExcess | MaxPrefixAction::Shutdown => {
                            out.shutdown |= limit.action == MaxPrefixAction::Shutdown;
                            out.rejected += 1;
                            self.sources.release(source);
                            continue;
                        }
                    }
                }
            }
            self.attrs.retain(id);
            self.set_path_any(n.prefix, source, Some(id), &mut out.changes);
        }
        for (_, id) in outcomes.drain(..) {
            if let Some(id) = id {
                self.attrs.release(id);
            }
        }
        self.scratch.outcomes = outcomes;
        self.attrs.release(base);
    }

    /// Applies the peer's import policy and tunnel role to one prefix; returns the
    /// interned result (the reference is held by `outcomes` until the UPDATE is done).
    fn import_policy(
        &mut self,
        peer_id: PeerId,
        base: AttrId,
        prefix: &IpNet,
        outcomes: &mut Vec<(Vec<u16>, Option<AttrId>)>,
    ) -> Option<AttrId> {
        let mut verdict = core::mem::take(&mut self.scratch.verdict);
        let peer = self.peer(peer_id).ok()?;
        let a = self.attrs.get(base)?;
        peer.config.import.evaluate_into(prefix, a, &mut verdict);
        let result = if !verdict.accept {
            None
        } else if let Some((_, id)) = outcomes.iter().find(|(k, _)| *k == verdict.applied) {
            *id
        } else {
            let mut new = peer
                .config
                .import
                .apply(&verdict.applied, a, self.cfg.local_as);
            if let Some(lp) = peer.import_local_pref {
                new = apply_action(&Action::SetLocalPref(lp), &new, self.cfg.local_as);
            }
            let id = self.attrs.intern_attrs(new);
            outcomes.push((verdict.applied.clone(), Some(id)));
            Some(id)
        };
        self.scratch.verdict = verdict;
        result
    }

    /// End-of-RIB from `peer` for `family`: paths still stale from before the restart
    /// are removed (RFC 4724 §4.2).
    pub fn end_of_rib(&mut self, peer: PeerId, family: Family) -> Result<Vec<Change>, RibError> {
        self.peer(peer)?;
        let mut changes = Vec::new();
        let pred = move |p: PeerId, path: Path| p == peer && path.is_stale();
        if family == Family::IPV4_UNICAST {
            self.sweep::<Ipv4Net>(pred, false, &mut changes);
        } else if family == Family::IPV6_UNICAST {
            self.sweep::<Ipv6Net>(pred, false, &mut changes);
        }
        Ok(changes)
    }

    /// The session of a graceful-restart capable peer went down (RFC 4724 §4.2, receiving
    /// speaker): its paths stay in use, marked stale, until it sends End-of-RIB or the
    /// restart timer runs out ([`Rib::restart_timer_expired`]).
    pub fn peer_down_graceful(&mut self, peer: PeerId) -> Result<(), RibError> {
        let p = self.peer_mut(peer)?;
        p.session = None;
        p.restarting = true;
        self.leave_group(peer);
        self.mark_stale::<Ipv4Net>(peer);
        self.mark_stale::<Ipv6Net>(peer);
        Ok(())
    }

    fn mark_stale<P: Pfx>(&mut self, peer: PeerId) {
        let sources = &self.sources;
        let work = &mut self.scratch.work;
        let (map, lists) = P::split(&mut self.tables);
        for (_, _, slot) in map.rows_mut() {
            if !lists
                .get(slot)
                .iter()
                .any(|p| sources.peer(p.source()) == peer)
            {
                continue;
            }
            lists.load(slot, work);
            for p in work.iter_mut() {
                if sources.peer(p.source()) == peer {
                    p.set_stale(true);
                }
            }
            lists.store(slot, work);
        }
    }

    /// The restart timer (or the stale-path timer) of a restarting peer ran out: its
    /// stale paths are removed.
    pub fn restart_timer_expired(&mut self, peer: PeerId) -> Result<Vec<Change>, RibError> {
        let p = self.peer_mut(peer)?;
        p.restarting = false;
        let mut changes = Vec::new();
        self.remove_where(
            move |p: PeerId, path: Path| p == peer && path.is_stale(),
            &mut changes,
        );
        Ok(changes)
    }

    /// Adds or replaces a locally owned path (local origination).
    pub(crate) fn set_local_path(
        &mut self,
        prefix: IpNet,
        attrs: Option<PathAttrs>,
        changes: &mut Vec<Change>,
    ) {
        let id = attrs.map(|a| self.attrs.intern_attrs(a));
        self.set_path_any(prefix, u32::from(PeerId::LOCAL.0), id, changes);
    }

    fn route<'a>(&'a self, prefix: IpNet, p: Path) -> Option<Route<'a>> {
        Some(Route {
            prefix,
            peer: self.sources.peer(p.source()),
            path_id: self.sources.path_id(p.source()),
            attr_id: p.attrs,
            attrs: self.attrs.get(p.attrs)?,
            status: p.status(),
            stale: p.is_stale(),
        })
    }

    pub(crate) fn paths(&self, prefix: IpNet) -> Option<&[Path]> {
        let slot = match prefix {
            IpNet::V4(p) => self.tables.v4.get(&p.trunc()),
            IpNet::V6(p) => self.tables.v6.get(&p.trunc()),
        }?;
        Some(self.tables.lists.get(slot))
    }

    /// The best path of a prefix.
    pub fn best(&self, prefix: IpNet) -> Option<Route<'_>> {
        let p = tbl::best(self.paths(prefix)?)?;
        self.route(prefix.trunc(), p)
    }

    /// The best path and the other multipath (ECMP) members, best first.
    pub fn multipath(&self, prefix: IpNet) -> Vec<Route<'_>> {
        self.paths(prefix).map_or(Vec::new(), |l| {
            tbl::used(l)
                .iter()
                .filter_map(|&p| self.route(prefix.trunc(), p))
                .collect()
        })
    }

    /// Every path of a prefix with its standing — best, multipath, or the selection step
    /// it lost at — best first.
    pub fn explain(&self, prefix: IpNet) -> Vec<Route<'_>> {
        self.paths(prefix).map_or(Vec::new(), |l| {
            l.iter()
                .filter_map(|&p| self.route(prefix.trunc(), p))
                .collect()
        })
    }

    /// The best path of every IPv4 prefix, in prefix order.
    pub fn best_v4(&self) -> impl Iterator<Item = Route<'_>> + '_ {
        self.tables
            .v4
            .iter()
            .filter_map(|(p, l)| self.route(IpNet::V4(p), tbl::best(self.tables.lists.get(l))?))
    }

    /// The best path of every IPv6 prefix, in prefix order.
    pub fn best_v6(&self) -> impl Iterator<Item = Route<'_>> + '_ {
        self.tables
            .v6
            .iter()
            .filter_map(|(p, l)| self.route(IpNet::V6(p), tbl::best(self.tables.lists.get(l))?))
    }

    /// Best paths per peer over both families, and how many of them are stale (kept
    /// from a restarting peer, RFC 4724): one pass over the rows in no particular order,
    /// without the sort [`Rib::best_v4`] makes for a listing, for counters such as a
    /// daemon's metrics. Peers with at least one best path, by [`PeerId`]; locally
    /// originated routes count under [`PeerId::LOCAL`].
    pub fn best_path_counts(&self) -> Vec<(PeerId, BestCounts)> {
        let mut counts = vec![BestCounts::default(); self.peers.len()];
        let t = &self.tables;
        for slot in t.v4.values().chain(t.v6.values()) {
            let Some(best) = tbl::best(t.lists.get(slot)) else {
                continue;
            };
            if let Some(c) = counts.get_mut(self.sources.peer(best.source()).index()) {
                c.best += 1;
                c.stale += usize::from(best.is_stale());
            }
        }
        counts
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.best > 0)
            .map(|(i, c)| (PeerId(i as u16), c))
            .collect()
    }

    /// Number of prefixes with at least one path (IPv4, IPv6).
    pub fn prefix_count(&self) -> (usize, usize) {
        (
            self.tables.v4.len().saturating_sub(self.tables.tombs_v4),
            self.tables.v6.len().saturating_sub(self.tables.tombs_v6),
        )
    }

    /// Number of paths held from a peer.
    pub fn peer_path_count(&self, peer: PeerId) -> usize {
        self.peers
            .get(peer.index())
            .and_then(Option::as_ref)
            .map_or(0, |p| p.paths as usize)
    }

    /// Number of distinct interned attribute sets.
    pub fn attribute_set_count(&self) -> usize {
        self.attrs.len()
    }

    /// The interned attribute set `id`.
    pub fn attributes(&self, id: AttrId) -> Option<&PathAttrs> {
        self.attrs.get(id)
    }

    /// Bytes held by the IPv4 and IPv6 tables themselves (rows and index, not what the
    /// values point to), for memory accounting.
    pub fn table_bytes(&self) -> (usize, usize) {
        (self.tables.v4.mem_size(), self.tables.v6.mem_size())
    }

    /// Whether nothing at all is stored.
    pub fn is_empty(&self) -> bool {
        self.tables.v4.is_empty() && self.tables.v6.is_empty() && self.attrs.len() == 0
    }
}
