//! Export: Adj-RIB-Out per update group.
//!
//! Peers whose export configuration and negotiated encoding are identical form an
//! [update group](GroupId): the RIB decides and encodes their UPDATEs once, and the daemon
//! sends the same bytes to every member. That is what makes fan-out to many
//! route-reflector clients cheap.
//!
//! For each prefix the group is offered the best path, which is advertised when:
//!
//! 1. the route-reflection / split-horizon rules allow it ([`may_advertise`]);
//! 2. no well-known community forbids it (RFC 1997: NO_ADVERTISE to nobody, NO_EXPORT and
//!    NO_EXPORT_SUBCONFED not to external peers — there are no confederations here, so
//!    the two coincide);
//! 3. the export policy accepts it;
//! 4. the group's max export count is not reached (cloud gateways cap what they accept).
//!
//! The advertised attributes are then made for the session: for eBGP the local AS is
//! prepended (plus any configured prepends), LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are
//! removed, a received MED is not passed on (RFC 4271 §5.1.4), and the next hop becomes
//! our address unless next-hop-unchanged; for iBGP LOCAL_PREF is set, the next hop stays
//! unless next-hop-self (locally originated routes always get ours), and a reflected route
//! gets ORIGINATOR_ID and our CLUSTER_ID prepended to CLUSTER_LIST (RFC 4456 §8). Unknown
//! optional transitive attributes are passed on with the Partial bit set (RFC 4271 §5).
//!
//! # Cost
//!
//! What each group was last sent is one bit per prefix in the Loc-RIB row's value for
//! the first 32 groups (4 octets per prefix for all of them; later groups keep their own
//! prefix sets), so an export pass reads and writes it through the lookup it makes anyway.
//! A prefix whose last path is gone stays in the table, with no path and not counted as a
//! route, until every group that had it has been sent its withdrawal.
//! [`Rib::export_changes_to`] exports several groups in one pass: each changed prefix is
//! looked up once, in prefix order, and groups that make the same attributes from a set
//! (same kind, prepend, MED, policy and session) encode each set once and swap in their
//! own next hop ([`UpdateBuilder::with_next_hop`]).
//!
//! A group keeps, between passes, its decision per attribute set (when its export policy
//! cannot depend on the prefix) and the builder of each exported set, packed
//! ([`bgp_wire::PackedBuilders`]): some 16 MB for a full table's 150,000 sets, so that its
//! next full pass (a member joining, a route refresh) decides and encodes no set again.
//! Groups capped below a few thousand prefixes keep at most 8,192 builders. A full pass
//! over a table whose sets sit in runs of rows (as loaded) encodes each run as it ends.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bgp_wire::{
    AttrFlags, AttrType, AttrValue, Attribute, EncodeError, Family, FamilySet, Nlri, NlriBuf,
    PackedBuilders, SessionParams, UpdateBuilder, rewrite_next_hops,
};
use bytes::{Bytes, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixSet;

use crate::attrs::{AttrId, NextHopAddr, PathAttrs};
use crate::peer::{Peer, PeerId, PeerKind};
use crate::policy::{Action, Policy, Verdict, apply_action, prepend_as_path};
use crate::rib::{Change, ChangeKind, Pfx, Rib, RibError, Tables};
use crate::table::{self as tbl, OUT_BITS, Path, PrefixTable, Slot, TableEntry};

/// RFC 4456 §8 and the RFC 4271 §9.2 iBGP split horizon, in one place: may a route learned
/// from a peer of kind `from` be advertised to a peer of kind `to`?
///
/// RFC 4456 §8:
///
/// > "A route from a Non-Client IBGP peer: Reflect to all the Clients."
/// >
/// > "A route from a Client peer: Reflect to all the Non-Client peers and also to the
/// > Client peers. (Hence the client peers are not required to be fully meshed.)"
/// >
/// > "A route from an EBGP peer: Send to all the Client and Non-Client Peers."
///
/// RFC 4271 §9.2: a route learned from an internal peer is not advertised to other
/// internal peers (unless reflecting, above). Locally originated routes go to everyone.
pub fn may_advertise(from: PeerKind, to: PeerKind) -> bool {
    match (from, to) {
        (_, PeerKind::Local) => false,
        (PeerKind::Local | PeerKind::External, _) => true,
        (PeerKind::Client, PeerKind::Internal | PeerKind::Client) => true,
        (PeerKind::Internal, PeerKind::Client) => true,
        (PeerKind::Internal, PeerKind::Internal) => false,
        (PeerKind::Internal | PeerKind::Client, PeerKind::External) => true,
    }
}

/// An update group: peers sharing export configuration and encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct GroupId(pub(crate) u32);

/// What makes two peers' UPDATEs identical.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ExportKey {
    kind: PeerKind,
    /// The peer's AS when routes holding it in their AS_PATH are not sent (sender-side
    /// loop detection, eBGP only); `None` lets peers of different ASes share a group.
    loop_as: Option<u32>,
    next_hop_self: bool,
    next_hop_unchanged: bool,
    local_v4: Option<Ipv4Addr>,
    local_v6: Option<std::net::Ipv6Addr>,
    prepend: u8,
    med: Option<u32>,
    max_export: Option<u32>,
    policy: Policy,
    session: SessionParams,
    families: FamilySet,
}

impl ExportKey {
    /// Whether two groups make the same attributes from a set (they may still differ in
    /// next hop, in which sets they send, and in their caps).
    fn same_shape(&self, other: &ExportKey) -> bool {
        self.kind == other.kind
            && self.prepend == other.prepend
            && self.med == other.med
            && self.session == other.session
            && self.policy == other.policy
    }

    pub(crate) fn of(peer: &Peer, session: SessionParams) -> ExportKey {
        let c = &peer.config;
        ExportKey {
            kind: peer.kind,
            loop_as: (peer.kind == PeerKind::External && c.sender_side_loop_detection)
                .then_some(c.remote_as),
            next_hop_self: c.next_hop_self,
            next_hop_unchanged: c.next_hop_unchanged,
            local_v4: c.local_v4,
            local_v6: c.local_v6,
            prepend: c.export_prepend.saturating_add(peer.tunnel_prepend),
            med: peer.tunnel_med.or(c.export_med),
            max_export: c.max_export,
            policy: c.export.clone(),
            session,
            families: peer.families,
        }
    }
}

/// The Adj-RIB-Out of one update group.
///
/// What the group was last sent is recorded per prefix: for the first [`OUT_BITS`] groups
/// as one bit in the Loc-RIB row's value ([`Slot::out`]), so that ten full-table groups
/// cost 4 octets per prefix in all rather than a prefix set each; later groups keep their
/// own prefix sets. A prefix whose last path is gone stays in the table, with no path,
/// until every group that has it advertised has withdrawn it.
pub(crate) struct Group {
    key: ExportKey,
    pub(crate) members: Vec<PeerId>,
    /// This group's bit in [`Slot::out`], or 0 when it keeps its own sets.
    bit: u32,
    own_v4: PrefixSet<Ipv4Net>,
    own_v6: PrefixSet<Ipv6Net>,
    /// Prefixes advertised, IPv4 and IPv6.
    counts: [usize; 2],
    /// Builders (attributes encoded once) per exported set, kept across export passes:
    /// by key, those the memo does not hold.
    builders: HashMap<BuilderKey, Option<u32>, IdHash>,
    /// The builders, IPv4 and IPv6, packed (a full table's 150,000 take some 12 MB so,
    /// against 25 MB as [`UpdateBuilder`]s).
    packed: [PackedBuilders; 2],
    /// Per builder: the set it encodes and the next hop it carries.
    builder_meta: [Meta; 2],
    /// Buffers of the export passes, kept for the next one.
    entries: Vec<Entry>,
    sorted: Vec<Entry>,
    /// The group's decision per attribute set, IPv4 and IPv6 ([`SetMemo`]).
    memo: [SetMemo; 2],
    /// Per family: the octets of the last full pass if its prefixes came in one run per
    /// builder, which lets the next full pass encode as it walks ([`Stream`]).
    full_runs: [Option<usize>; 2],
}

/// Builders a group whose cache is not [kept whole](keeps_cache) holds between passes,
/// at most.
const BUILDER_CACHE_MAX: usize = 8192;

/// Whether a group keeps its decisions and builders for every set between passes, so
/// that its next full pass encodes no attributes and decides nothing again. A group
/// capped below a pass's worth of prefixes (cloud gateways take 100 or 1,000) would keep
/// a full table's worth of builders for the few prefixes it is sent; it keeps at most
/// [`BUILDER_CACHE_MAX`].
fn keeps_cache(key: &ExportKey) -> bool {
    key.max_export.is_none_or(|m| m as usize >= MEMO_ARRAY_PASS)
}

/// (set, its generation, [stamp](crate::peer::Peer::stamp) of the peer it came from,
/// IPv6 NLRI).
type BuilderKey = (AttrId, u32, u32, bool);

/// A group's export decision per attribute set, kept across passes when the group's
/// export policy cannot depend on the prefix (one decision then holds for every prefix
/// of the set): (stamp of the peer the decision was made for, builder index or
/// [`NOT_EXPORTED`]). A map while the group has decided few sets; an array indexed by set
/// once a pass is large (a full table: one array read per prefix instead of a probe into
/// a map of 150,000 sets). Brought up to date at the start of each pass by forgetting the
/// sets freed since ([`crate::attrs::AttrStore::freed_since`]).
#[derive(Default)]
pub(crate) struct SetMemo {
    map: HashMap<u32, (u32, u32), IdHash>,
    array: Vec<(u32, u32)>,
    /// The attribute store's free mark when it was last brought up to date.
    mark: u64,
}

impl SetMemo {
    fn get(&self, set: u32) -> Option<(u32, u32)> {
        if self.array.is_empty() {
            self.map.get(&set).copied()
        } else {
            self.array.get(set as usize).copied()
        }
    }

    fn set(&mut self, set: u32, entry: (u32, u32)) {
        if self.array.is_empty() {
            self.map.insert(set, entry);
        } else if let Some(e) = self.array.get_mut(set as usize) {
            *e = entry;
        }
    }

    fn clear(&mut self) {
        self.map = HashMap::default();
        self.array = Vec::new();
    }

    /// Forgets the sets freed since the last pass; sizes the array for `bound` sets, or
    /// makes one if `large`.
    fn catch_up(&mut self, attrs: &crate::attrs::AttrStore, bound: usize, large: bool) {
        match attrs.freed_since(self.mark) {
            Some(freed) => {
                for &i in freed {
                    if let Some(e) = self.array.get_mut(i as usize) {
                        *e = (0, 0);
                    }
                    self.map.remove(&i);
                }
            }
            None => self.clear(),
        }
        self.mark = attrs.free_mark();
        if !self.array.is_empty() || large {
            self.array.resize(bound, (0, 0));
            for (i, e) in self.map.drain() {
                if let Some(slot) = self.array.get_mut(i as usize) {
                    *slot = e;
                }
            }
        }
    }
}

/// Per kept builder: the key of the set it encodes and the next hop it carries, the
/// next hops stored once each (a group has one or a few hundred): 20 octets a builder.
#[derive(Default)]
pub(crate) struct Meta {
    keys: Vec<(BuilderKey, u32)>,
    next_hops: Vec<NextHopAddr>,
    /// Where each next hop is in `next_hops` (peer-chosen values: the default hasher).
    index: HashMap<NextHopAddr, u32>,
}

impl Meta {
    fn push(&mut self, key: BuilderKey, next_hop: NextHopAddr) {
        let i = match self.index.get(&next_hop) {
            Some(&i) => i,
            None => {
                let i = self.next_hops.len() as u32;
                self.next_hops.push(next_hop);
                self.index.insert(next_hop, i);
                i
            }
        };
        self.keys.push((key, i));
    }

    fn get(&self, builder: u32) -> Option<(BuilderKey, NextHopAddr)> {
        let &(key, i) = self.keys.get(builder as usize)?;
        Some((key, *self.next_hops.get(i as usize)?))
    }

    fn key(&self, builder: u32) -> Option<BuilderKey> {
        self.keys.get(builder as usize).map(|k| k.0)
    }

    fn reserve(&mut self, n: usize) {
        self.keys.reserve(n);
    }
}

/// A hasher for keys made of our own small indices (not peer-chosen): multiply-rotate.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHash;

impl core::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

pub(crate) struct IdHasher(u64);

impl core::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Builders made during one export pass, for every group of the pass with the same
/// [shape](ExportKey::same_shape): keyed by (shape, [`BuilderKey`]), with the next hop
/// they were made for. Ten eBGP sinks that differ only in their address encode each set
/// once and swap the next hop ([`UpdateBuilder::with_next_hop`]).
#[derive(Default)]
struct SharedBuilders {
    map: HashMap<(u32, BuilderKey), (UpdateBuilder, NextHopAddr), IdHash>,
}

/// Entry buffer capacity a group keeps between passes, at most (a full-table pass grows
/// it to 1,000,000).
const KEEP_ENTRIES: usize = 1 << 16;

/// One export pass over some prefixes of one family.
struct Exporter {
    key: ExportKey,
    family: Family,
    /// The group's record was reset: nothing counts as advertised before.
    fresh: bool,
    /// Prefixes advertised, both families (the max export count is per session).
    count: usize,
    /// Advertised in the other family (to split `count` again at the end).
    other: usize,
    bit: u32,
    /// Index of this group's shape in the pass ([`SharedBuilders`]).
    shape: u32,
    /// Whether another group of the pass has the same shape (only then are builders
    /// offered to [`SharedBuilders`]).
    shape_shared: bool,
    own_v4: PrefixSet<Ipv4Net>,
    own_v6: PrefixSet<Ipv6Net>,
    builders: HashMap<BuilderKey, Option<u32>, IdHash>,
    /// The group's builders of this family.
    packed: PackedBuilders,
    builder_meta: Meta,
    /// Builders of policy-modified sets, used in this pass only (index `u32::MAX - i`).
    uncached: Vec<UpdateBuilder>,
    /// The prefixes to announce ([`Entry`]).
    entries: Vec<Entry>,
    /// Octets the NLRI of `entries` take on the wire.
    nlri_octets: usize,
    /// Buffer for `entries` grouped by builder.
    sorted: Vec<Entry>,
    withdrawn: Vec<Nlri>,
    verdict: Verdict,
    suppressed: usize,
    error: Option<RibError>,
    /// The group's decisions per set for this family (used only when `memo_ok`): one
    /// lookup per prefix instead of the rules, the loop check and the builder cache.
    /// A set's builder is found through it alone; `builders` holds those of sets that
    /// were decided for a second peer and of groups without the memo.
    memo: SetMemo,
    memo_ok: bool,
    /// Buffer for [`Rib::encode_export`].
    scratch: Vec<u8>,
    /// A full pass that encodes as it walks.
    stream: Option<Stream>,
}

/// A full pass's UPDATEs encoded during the walk, one builder's run at a time, when the
/// group's last full pass found the table's prefixes in one run per builder (a table
/// loaded set by set keeps them so until churn reuses rows). The walk then does not
/// write a million entries for the encoder to read back. Should a builder come back
/// after its run (the table has changed), the pass stops streaming and the rest is
/// grouped in [`Exporter::finish`] as usual, so that builder's prefixes take one more
/// UPDATE than they could.
struct Stream {
    out: BytesMut,
    /// Builders whose run is over, by index.
    seen: Vec<u64>,
    active: bool,
    /// The builder of the run being collected.
    current: Option<u32>,
    announced: usize,
    messages: usize,
}

impl Stream {
    fn new(expected: usize) -> Stream {
        Stream {
            out: BytesMut::with_capacity(expected + expected / 16 + 4096),
            seen: Vec::new(),
            active: true,
            current: None,
            announced: 0,
            messages: 0,
        }
    }

    /// Whether builder `b`'s run is over.
    fn done(&self, b: u32) -> bool {
        self.seen
            .get((b / 64) as usize)
            .is_some_and(|w| w & (1 << (b % 64)) != 0)
    }

    fn set_done(&mut self, b: u32) {
        let w = (b / 64) as usize;
        if self.seen.len() <= w {
            self.seen.resize(w + 1, 0);
        }
        if let Some(x) = self.seen.get_mut(w) {
            *x |= 1 << (b % 64);
        }
    }
}

/// A prefix to announce: (builder index, for IPv4 the address and for IPv6 the prefix's
/// row in its table, the length). 12 octets, where an [`IpNet`] would take 18
/// (a full table's pass writes and groups a million of them); an IPv4 prefix is carried
/// whole, so that encoding does not read the table's rows a second time.
type Entry = (u32, u32, u8);

/// The [`Entry`] of `prefix`, at `row`, for `builder`.
fn entry_of(builder: u32, prefix: IpNet, row: u32) -> Entry {
    match prefix {
        IpNet::V4(p) => (builder, u32::from(p.addr()), p.prefix_len()),
        IpNet::V6(p) => (builder, row, p.prefix_len()),
    }
}

/// Smallest pass that uses the array memo.
const MEMO_ARRAY_PASS: usize = 4096;

const NOT_EXPORTED: u32 = u32::MAX;

/// A next hop in a leader group's UPDATEs (encoded) and the one a follower needs there.
type NextHopSwap = (Vec<u8>, Vec<u8>);

impl Exporter {
    /// Whether the group was last sent `prefix`; `slot` is its value, if any.
    fn was_advertised(&self, prefix: IpNet, slot: Option<&Slot>) -> bool {
        if self.bit != 0 {
            // With `fresh`, the bits still say what the previous record held, so the
            // count is only corrected where a bit really changes (set_advertised).
            return !self.fresh && slot.is_some_and(|s| s.out() & self.bit != 0);
        }
        !self.fresh
            && match prefix {
                IpNet::V4(p) => self.own_v4.contains(&p),
                IpNet::V6(p) => self.own_v6.contains(&p),
            }
    }

    fn set_advertised(&mut self, prefix: IpNet, slot: Option<&mut Slot>, yes: bool) {
        if self.bit != 0 {
            if let Some(s) = slot {
                s.set_out(self.bit, yes);
            }
        } else {
            match (prefix, yes) {
                (IpNet::V4(p), true) => {
                    self.own_v4.insert(p);
                }
                (IpNet::V6(p), true) => {
                    self.own_v6.insert(p);
                }
                (IpNet::V4(p), false) => {
                    self.own_v4.remove(&p);
                }
                (IpNet::V6(p), false) => {
                    self.own_v6.remove(&p);
                }
            }
        }
        if yes {
            self.count += 1;
        } else {
            self.count = self.count.saturating_sub(1);
        }
    }

    /// The builder for a decision, made (and cached when no export rule modified the
    /// set) on first use. `None`: no usable next hop for this session. `stamp`: that of
    /// peer `from`.
    fn builder(
        &mut self,
        rib: &Rib,
        shared: &mut SharedBuilders,
        id: AttrId,
        from: PeerId,
        stamp: u32,
    ) -> Option<u32> {
        let params = self.key.session;
        let family = self.family;
        let key = &self.key;
        let make = |applied: &[u16]| -> Result<Option<UpdateBuilder>, RibError> {
            let Some(m) = rib.make(key, id, from, applied) else {
                return Ok(None);
            };
            UpdateBuilder::announce(&params, family, m.next_hop.to_wire(), &m.attributes)
                .map(Some)
                .map_err(RibError::Encode)
        };
        if !self.verdict.applied.is_empty() {
            match make(&self.verdict.applied) {
                Ok(b) => {
                    self.uncached.push(b?);
                    return Some(u32::MAX - (self.uncached.len() as u32 - 1));
                }
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        }
        let k = (
            id,
            rib.attrs.generation(id),
            stamp,
            family == Family::IPV6_UNICAST,
        );
        if let Some(&b) = self.builders.get(&k) {
            return b;
        }
        // Another group of the same shape may have encoded this set in this pass.
        let next_hop = rib
            .attrs
            .get(id)
            .and_then(|a| rib.export_next_hop(&self.key, a));
        let reuse = next_hop.filter(|_| self.shape_shared).and_then(|nh| {
            let (base, base_nh) = shared.map.get(&(self.shape, k))?;
            if *base_nh == nh {
                Some(base.clone())
            } else {
                base.with_next_hop(&nh.to_wire())
            }
        });
        let b = match reuse {
            Some(b) => Some(b),
            None if next_hop.is_none() => None,
            None => match rib
                .encode_export(&self.key, family, id, from, &mut self.scratch)
                .unwrap_or_else(|| make(&[]))
            {
                Ok(b) => {
                    if let (Some(b), Some(nh), true) = (&b, next_hop, self.shape_shared) {
                        shared.map.insert((self.shape, k), (b.clone(), nh));
                    }
                    b
                }
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            },
        };
        let idx = b.and_then(|b| {
            let nh = next_hop?;
            match self.packed.push(&b) {
                Some(i) => {
                    self.builder_meta.push(k, nh);
                    Some(i)
                }
                None => {
                    // Not of the group's session (cannot happen for a builder made for
                    // it): used for this pass only.
                    self.uncached.push(b);
                    Some(u32::MAX - (self.uncached.len() as u32 - 1))
                }
            }
        });
        // With the memo on, the set's decision holds the builder.
        if !self.memo_ok {
            self.builders.insert(k, idx);
        }
        idx
    }

    /// [`Exporter::offer`] for a full pass of a group with a bit in the rows and no cap,
    /// when the memo has the decision: what a full table's pass does a million times, in
    /// a few loads. `source`: the last path source seen and its peer's stamp. `None`: not
    /// handled, offer it.
    #[inline]
    fn offer_known(
        &mut self,
        rib: &Rib,
        best: Option<Path>,
        slot: &mut Slot,
        source: &mut (u32, u32),
    ) -> Option<Option<u32>> {
        let best = best?;
        if best.source() != source.0 {
            *source = (best.source(), rib.stamp_of(rib.sources.peer(best.source())));
        }
        let &(stamp, decision) = self.memo.array.get(best.attrs.index())?;
        if stamp != source.1 || stamp == 0 {
            return None;
        }
        if decision == NOT_EXPORTED {
            // A reset record: drop the old bit (nothing was counted for it).
            slot.set_out(self.bit, false);
            return Some(None);
        }
        slot.set_out(self.bit, true);
        self.count += 1;
        Some(Some(decision))
    }

    /// Offers one prefix with its current best path; `slot` is the prefix's value (`None`:
    /// not in the table, so no group has it advertised). Returns the builder to announce
    /// the prefix with ([`Exporter::push_entry`]), if it is to be announced.
    fn offer(
        &mut self,
        rib: &Rib,
        shared: &mut SharedBuilders,
        prefix: IpNet,
        best: Option<Path>,
        mut slot: Option<&mut Slot>,
    ) -> Option<u32> {
        let builder = match best {
            None => None,
            Some(b) => self.decide_memo(rib, shared, prefix, b),
        };
        let was = self.was_advertised(prefix, slot.as_deref());
        let Some(builder) = builder else {
            if was {
                self.withdrawn.push(Nlri::new(prefix));
                self.set_advertised(prefix, slot, false);
            } else if self.fresh && self.bit != 0 {
                // A reset record: drop the old bit (nothing was counted for it).
                if let Some(s) = slot {
                    s.set_out(self.bit, false);
                }
            }
            return None;
        };
        if !was {
            if self
                .key
                .max_export
                .is_some_and(|m| self.count >= m as usize)
            {
                self.suppressed += 1;
                if self.fresh
                    && self.bit != 0
                    && let Some(s) = slot.as_deref_mut()
                {
                    s.set_out(self.bit, false);
                }
                return None;
            }
            self.set_advertised(prefix, slot, true);
        }
        Some(builder)
    }

    /// Queues `prefix` (at `row`) for announcement with `builder`.
    fn push_entry(&mut self, builder: u32, prefix: IpNet, row: u32) {
        self.entries.push(entry_of(builder, prefix, row));
        self.nlri_octets += 1 + usize::from(prefix.prefix_len()).div_ceil(8);
    }

    /// In a full pass, `prefix` (at `row`) is to be announced with `builder`: streamed,
    /// when the pass streams, into the run being collected (`run`), the run before being
    /// encoded when `builder` starts another; queued otherwise. Streaming stops when a
    /// builder's run was over already (or it is a policy-modified one): from there on
    /// the prefixes are queued and grouped in [`Exporter::finish`].
    fn add<P: Pfx>(&mut self, builder: u32, prefix: P, row: u32, run: &mut NlriBuf) {
        let Some(stream) = self.stream.as_mut().filter(|s| s.active) else {
            self.push_entry(builder, prefix.into(), row);
            return;
        };
        if stream.current != Some(builder) {
            if let Err(e) = Self::flush_run(&self.packed, stream, run) {
                stream.active = false;
                self.error = Some(e);
                return;
            }
            if builder as usize >= self.packed.len() || stream.done(builder) {
                stream.active = false;
                self.push_entry(builder, prefix.into(), row);
                return;
            }
            stream.current = Some(builder);
        }
        if let Err(e) = prefix.push_to(run) {
            // A prefix of the pass's family always goes in; should one not, the pass
            // fails rather than leave it out.
            stream.active = false;
            self.error = Some(e.into());
        }
    }

    /// Encodes the run being collected, if any, and marks its builder's run over.
    fn flush_run(
        packed: &PackedBuilders,
        stream: &mut Stream,
        run: &mut NlriBuf,
    ) -> Result<(), RibError> {
        let Some(p) = stream.current.take() else {
            return Ok(());
        };
        // A run starts only for a kept builder (index below the store's length), and the
        // store only grows during a pass, so the builder is there; were it not, the pass
        // fails rather than leave the run's prefixes out.
        let b = packed
            .get(p)
            .ok_or(RibError::Encode(EncodeError::PrefixFamilyMismatch(
                packed.family(),
            )))?;
        stream.messages += b.encode_buf(run, &mut stream.out)?;
        stream.announced += run.len();
        run.clear();
        stream.set_done(p);
        Ok(())
    }

    /// The end of a streaming full pass: encodes the last run.
    fn stream_end(&mut self, run: &mut NlriBuf) {
        if let Some(stream) = self.stream.as_mut().filter(|s| s.active)
            && let Err(e) = Self::flush_run(&self.packed, stream, run)
        {
            stream.active = false;
            self.error = Some(e);
        }
    }

    fn decide_memo(
        &mut self,
        rib: &Rib,
        shared: &mut SharedBuilders,
        prefix: IpNet,
        best: Path,
    ) -> Option<u32> {
        let from = rib.sources.peer(best.source());
        let stamp = rib.stamp_of(from);
        let i = best.attrs.index() as u32;
        let known = if self.memo_ok { self.memo.get(i) } else { None };
        if let Some((t, d)) = known
            && t == stamp
            && stamp != 0
        {
            return (d != NOT_EXPORTED).then_some(d);
        }
        let decision = rib.decide(&self.key, prefix, best, &mut self.verdict);
        let b = decision.and_then(|(id, from)| self.builder(rib, shared, id, from, stamp));
        let kept = b.is_none_or(|b| (b as usize) < self.packed.len());
        if self.memo_ok
            && stamp != 0
            && kept
            && self.verdict.applied.is_empty()
            && self.error.is_none()
        {
            // The memo holds one peer's decision per set: one made for another peer (or
            // an earlier session of this one) keeps its builder in the keyed map.
            if let Some((t, d)) = known
                && t != 0
                && let Some(k) = self.builder_meta.key(d)
            {
                self.builders.insert(k, Some(d));
            }
            self.memo.set(i, (stamp, b.unwrap_or(NOT_EXPORTED)));
        }
        b
    }

    /// If this pass's UPDATEs are `leader`'s with other next hops (same shape, the same
    /// withdrawals, the same prefixes from the same sets in the same order), the next-hop
    /// substitutions (encoded, leader's → ours) that make them.
    fn copy_of(&self, leader: &Exporter) -> Option<Vec<NextHopSwap>> {
        if self.shape != leader.shape
            || self.family != leader.family
            || self.error.is_some()
            || leader.error.is_some()
            || !self.uncached.is_empty()
            || !leader.uncached.is_empty()
            || self.entries.len() != leader.entries.len()
            || self.withdrawn != leader.withdrawn
        {
            return None;
        }
        let mut map: Vec<(NextHopAddr, NextHopAddr)> = Vec::new();
        for (&(b, n, l), &(lb, ln, ll)) in self.entries.iter().zip(&leader.entries) {
            if (n, l) != (ln, ll) {
                return None;
            }
            let (key, nh) = self.builder_meta.get(b)?;
            let (lkey, lnh) = leader.builder_meta.get(lb)?;
            if key != lkey {
                return None;
            }
            match map.iter().find(|m| m.0 == lnh) {
                Some(m) if m.1 != nh => return None,
                Some(_) => {}
                None => map.push((lnh, nh)),
            }
        }
        let encoded: Vec<NextHopSwap> = map
            .into_iter()
            .filter(|(from, to)| from != to)
            .map(|(from, to)| (next_hop_octets(from), next_hop_octets(to)))
            .collect();
        encoded
            .iter()
            .all(|(from, to)| from.len() == to.len())
            .then_some(encoded)
    }

    /// The octets the withdrawals take encoded, a little more rather than less.
    fn withdraw_octets(&self) -> usize {
        if self.withdrawn.is_empty() {
            return 0;
        }
        let add_path = self.key.session.add_path_send.contains(self.family);
        let nlri: usize = self
            .withdrawn
            .iter()
            .map(|n| 1 + usize::from(n.prefix.prefix_len()).div_ceil(8) + 4 * usize::from(add_path))
            .sum();
        // Header and lengths, MP_UNREACH_NLRI's own header, per message.
        let fixed = 23 + 7;
        let room = self
            .key
            .session
            .max_message_len()
            .saturating_sub(fixed)
            .max(1);
        nlri + (nlri / room + 1) * fixed
    }

    /// About the octets the announcements of `sorted` (entries grouped by builder) take
    /// encoded, a little more rather than less: per builder, one message's fixed part;
    /// the NLRI; and a fixed part for every further message the NLRI could spill into.
    fn announce_octets(&self, sorted: &[Entry], uncached_from: u32) -> usize {
        let mut fixed = 0usize;
        let mut largest = 0usize;
        let mut last = None;
        for &(b, ..) in sorted {
            if last == Some(b) {
                continue;
            }
            last = Some(b);
            let attrs = if b > uncached_from {
                self.uncached
                    .get((u32::MAX - b) as usize)
                    .map(|b| b.attribute_bytes().len())
            } else {
                self.packed.get(b).map(|b| b.attribute_bytes().len())
            };
            // Header, lengths, and MP_REACH_NLRI's own header and next hop at most.
            let f = 23 + 40 + attrs.unwrap_or(0);
            largest = largest.max(f);
            fixed += f;
        }
        let add_path = self.key.session.add_path_send.contains(self.family);
        let nlri = self.nlri_octets + if add_path { 4 * sorted.len() } else { 0 };
        let room = self
            .key
            .session
            .max_message_len()
            .saturating_sub(largest)
            .max(1);
        // Large attribute sets leave little room per message; the spill allowance is
        // capped (should it be short, the buffer grows).
        fixed + nlri + ((nlri / room + 1) * largest).min(nlri + 4096)
    }

    /// Encodes what the pass decided (or, with `copy`, takes the leader's UPDATEs and
    /// rewrites their next hops: see [`Exporter::copy_of`]) and puts the group's state
    /// back.
    fn finish(
        mut self,
        rib: &mut Rib,
        group: GroupId,
        copy: Option<(&ExportBatch, &[NextHopSwap])>,
    ) -> Result<ExportBatch, RibError> {
        let params = self.key.session;
        let mut batch = ExportBatch {
            suppressed: self.suppressed,
            ..ExportBatch::default()
        };
        // Room for the withdrawals; the announcements reserve theirs once grouped.
        // A streaming pass has encoded most of its announcements already.
        let stream = self.stream.take();
        // Whether the whole pass came in one run per builder (then the next full pass
        // streams).
        let streamed = stream.is_some();
        let mut grouped = stream.as_ref().is_some_and(|s| s.active);
        let mut out = match stream {
            Some(s) => {
                batch.message_count = s.messages;
                batch.announced = s.announced;
                let mut out = s.out;
                out.reserve(self.withdraw_octets());
                out
            }
            None => BytesMut::with_capacity(self.withdraw_octets()),
        };
        let mut spare: Vec<Entry> = Vec::new();
        // The IPv6 prefixes of `entries`, by row.
        let tables = &rib.tables;
        let v6 = self.family == Family::IPV6_UNICAST;
        let mut copied = None;
        if let Some((leader, [])) = copy {
            // Same next hops too (e.g. only withdrawals): the same bytes, shared.
            copied = Some(ExportBatch {
                suppressed: self.suppressed,
                ..leader.clone()
            });
        } else if let Some((leader, map)) = copy {
            let mut bytes = BytesMut::from(&leader.messages[..]);
            let ok = rewrite_next_hops(&mut bytes, |old| {
                map.iter().find(|m| m.0 == old).map(|m| m.1.clone())
            });
            if ok {
                copied = Some(ExportBatch {
                    messages: bytes.freeze(),
                    message_count: leader.message_count,
                    announced: leader.announced,
                    withdrawn: leader.withdrawn,
                    suppressed: self.suppressed,
                });
            }
        }
        let result = (|| -> Result<(), RibError> {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if copied.is_some() {
                return Ok(());
            }
            if !self.withdrawn.is_empty() {
                batch.withdrawn = self.withdrawn.len();
                batch.message_count += UpdateBuilder::withdraw(&params, self.family)
                    .encode(self.withdrawn.drain(..), &mut out)?;
            }
            // Group the prefixes by builder, keeping the pass's order within a group (prefix
            // order for changes, row order for a full table). A counting sort (builder
            // indices are dense) is O(n + builders) and wins for a full table;
            // an incremental pass carries a few prefixes while the group caches up to one
            // builder per attribute set, so there a stable sort of the pass's own entries
            // keeps the cost proportional to the pass, not to the table.
            batch.announced += self.entries.len();
            let uncached_from = u32::MAX - self.uncached.len() as u32;
            let slot_of = |b: u32| -> usize {
                if b > uncached_from {
                    self.packed.len() + (u32::MAX - b) as usize
                } else {
                    b as usize
                }
            };
            let slots = self.packed.len() + self.uncached.len() + 1;
            let sorted: Vec<Entry> = if self.entries.len() >= GROUPED_CHECK
                && runs_are_grouped(&self.entries, slots, slot_of)
            {
                // A table loaded set by set and walked in row order: every builder's
                // prefixes are one run already.
                grouped |= !streamed;
                core::mem::take(&mut self.entries)
            } else if self.entries.len().saturating_mul(8) < slots {
                let mut v = core::mem::take(&mut self.entries);
                v.sort_by_key(|e| slot_of(e.0));
                v
            } else {
                let mut starts = vec![0usize; slots];
                for &(b, ..) in &self.entries {
                    if let Some(c) = starts.get_mut(slot_of(b) + 1) {
                        *c += 1;
                    }
                }
                for i in 1..starts.len() {
                    let prev = starts.get(i - 1).copied().unwrap_or(0);
                    if let Some(c) = starts.get_mut(i) {
                        *c += prev;
                    }
                }
                let mut sorted = core::mem::take(&mut self.sorted);
                sorted.clear();
                sorted.resize(self.entries.len(), (0, 0, 0));
                for &e in &self.entries {
                    if let Some(at) = starts.get_mut(slot_of(e.0)) {
                        if let Some(dst) = sorted.get_mut(*at) {
                            *dst = e;
                        }
                        *at += 1;
                    }
                }
                sorted
            };
            // Room for all of it at once: growing the buffer by doubling copied a full
            // table's UPDATEs twice over and faulted in fresh pages each time.
            out.reserve(self.announce_octets(&sorted, uncached_from));
            let mut rest = &sorted[..];
            // Each builder's prefixes in wire form, then its messages in a few copies.
            let mut nlri = NlriBuf::new(&params, self.family);
            while let Some(&(b, ..)) = rest.first() {
                let n = rest.iter().take_while(|e| e.0 == b).count();
                let (run, tail) = rest.split_at(n);
                rest = tail;
                nlri.clear();
                for &(_, n, len) in run {
                    if v6 {
                        if let Some(p) = tables.v6.prefix_at(n) {
                            nlri.push_v6(p)?;
                        }
                    } else if let Ok(p) = Ipv4Net::new(Ipv4Addr::from(n), len) {
                        nlri.push_v4(p)?;
                    }
                }
                batch.message_count += if b > uncached_from {
                    match self.uncached.get((u32::MAX - b) as usize) {
                        Some(builder) => builder.encode_buf(&nlri, &mut out)?,
                        None => 0,
                    }
                } else {
                    match self.packed.get(b) {
                        Some(builder) => builder.encode_buf(&nlri, &mut out)?,
                        None => 0,
                    }
                };
            }
            spare = sorted;
            Ok(())
        })();
        batch.messages = out.freeze();
        if let Some(c) = copied {
            batch = c;
        }
        let g = rib.group_mut(group)?;
        let v6 = usize::from(self.family == Family::IPV6_UNICAST);
        if self.fresh
            && let Some(hint) = g.full_runs.get_mut(v6)
        {
            *hint = (grouped && result.is_ok()).then_some(batch.messages.len());
        }
        if let Some(c) = g.counts.get_mut(v6) {
            *c = self.count.saturating_sub(self.other);
        }
        g.own_v4 = self.own_v4;
        g.own_v6 = self.own_v6;
        let large = self.packed.len() > BUILDER_CACHE_MAX || !self.memo.array.is_empty();
        if large && !keeps_cache(&g.key) {
            // The keyed map goes whole (it holds both families' builders: the other
            // family's are made again when needed).
            self.builders = HashMap::default();
            self.packed.clear();
            self.builder_meta = Meta::default();
            self.memo.clear();
        }
        if let Some(m) = g.memo.get_mut(v6) {
            *m = self.memo;
        }
        g.builders = self.builders;
        if let Some(p) = g.packed.get_mut(v6) {
            *p = self.packed;
        }
        if let Some(m) = g.builder_meta.get_mut(v6) {
            *m = self.builder_meta;
        }
        // Buffers for the next pass, unless a full table made them large.
        let keep = |v: &mut Vec<Entry>| {
            v.clear();
            if v.capacity() > KEEP_ENTRIES {
                *v = Vec::new();
            }
            core::mem::take(v)
        };
        let mut bufs = [
            core::mem::take(&mut self.entries),
            spare,
            core::mem::take(&mut self.sorted),
        ];
        bufs.sort_by_key(|v| core::cmp::Reverse(v.capacity()));
        let [mut a, mut b, _] = bufs;
        g.entries = keep(&mut a);
        g.sorted = keep(&mut b);
        result.map(|()| batch)
    }
}

/// Smallest pass whose entries are checked for being grouped by builder already.
const GROUPED_CHECK: usize = 1024;

/// Whether the entries of each builder (slot) form one run in `entries`.
fn runs_are_grouped(entries: &[Entry], slots: usize, slot_of: impl Fn(u32) -> usize) -> bool {
    let mut seen = vec![0u64; slots.div_ceil(64)];
    let mut last = None;
    for &(b, ..) in entries {
        if last == Some(b) {
            continue;
        }
        last = Some(b);
        let s = slot_of(b);
        match seen.get_mut(s / 64) {
            Some(w) if *w & (1 << (s % 64)) == 0 => *w |= 1 << (s % 64),
            _ => return false,
        }
    }
    true
}

/// Encoded UPDATEs for an update group, and what they contain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportBatch {
    /// Concatenated UPDATE messages, to send as they are to every member.
    pub messages: Bytes,
    /// Number of UPDATE messages.
    pub message_count: usize,
    /// Prefixes announced.
    pub announced: usize,
    /// Prefixes withdrawn.
    pub withdrawn: usize,
    /// Prefixes not announced because the group's max export count was reached.
    pub suppressed: usize,
}

/// What one export decision produced: attributes for the wire and the next hop.
struct Made {
    next_hop: NextHopAddr,
    attributes: Vec<Attribute>,
}

impl Rib {
    /// The update group of a peer whose session is up.
    pub fn update_group(&self, peer: PeerId) -> Option<GroupId> {
        self.peer(peer).ok()?.group.map(GroupId)
    }

    /// The members of an update group.
    pub fn group_members(&self, group: GroupId) -> &[PeerId] {
        self.groups
            .get(group.0 as usize)
            .and_then(Option::as_ref)
            .map_or(&[], |g| &g.members)
    }

    /// Puts a peer whose session came up into the group its configuration selects.
    pub(crate) fn join_group(&mut self, peer: PeerId) {
        self.leave_group(peer);
        let Ok(p) = self.peer(peer) else {
            return;
        };
        let Some(session) = p.session else {
            return;
        };
        let key = ExportKey::of(p, session);
        let found = self
            .groups
            .iter()
            .position(|g| g.as_ref().is_some_and(|g| g.key == key));
        let index = match found {
            Some(i) => i,
            None => {
                let free = self.groups.iter().position(Option::is_none);
                let i = free.unwrap_or(self.groups.len());
                // A new group starts with its bit clear everywhere: cleared when the group
                // that had the index before went away (leave_group).
                let g = Group {
                    key,
                    members: Vec::new(),
                    bit: if i < OUT_BITS { 1 << i } else { 0 },
                    own_v4: PrefixSet::new(),
                    own_v6: PrefixSet::new(),
                    counts: [0; 2],
                    builders: HashMap::default(),
                    packed: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                        .map(|f| PackedBuilders::new(&session, f)),
                    builder_meta: Default::default(),
                    entries: Vec::new(),
                    sorted: Vec::new(),
                    memo: Default::default(),
                    full_runs: [None; 2],
                };
                match self.groups.get_mut(i) {
                    Some(slot) => *slot = Some(g),
                    None => self.groups.push(Some(g)),
                }
                i
            }
        };
        if let Some(Some(g)) = self.groups.get_mut(index) {
            g.members.push(peer);
        }
        if let Ok(p) = self.peer_mut(peer) {
            p.group = Some(index as u32);
        }
    }

    pub(crate) fn leave_group(&mut self, peer: PeerId) {
        let Ok(p) = self.peer_mut(peer) else {
            return;
        };
        let Some(index) = p.group.take() else {
            return;
        };
        let mut freed_bit = 0;
        if let Some(slot) = self.groups.get_mut(index as usize) {
            if let Some(g) = slot {
                g.members.retain(|&m| m != peer);
            }
            if slot.as_ref().is_some_and(|g| g.members.is_empty()) {
                freed_bit = slot.as_ref().map_or(0, |g| g.bit);
                *slot = None;
            }
        }
        if freed_bit != 0 {
            // The group's record goes with it (its members' sessions are gone).
            clear_out_bit::<Ipv4Net>(&mut self.tables, freed_bit);
            clear_out_bit::<Ipv6Net>(&mut self.tables, freed_bit);
        }
    }

    /// The whole Loc-RIB of `family` for `group`, as UPDATEs (initial advertisement after
    /// the session comes up). Resets the group's record of what it advertised.
    pub fn export_full(&mut self, group: GroupId, family: Family) -> Result<ExportBatch, RibError> {
        // RFC 4760 §8: nothing of a family the peer did not negotiate.
        if !self.group_mut(group)?.key.families.contains(family) {
            return Ok(ExportBatch::default());
        }
        let rows = if family == Family::IPV6_UNICAST {
            self.tables.v6.len()
        } else {
            self.tables.v4.len()
        };
        let mut ex = self.exporter(group, family, rows)?;
        ex.fresh = true;
        let hint = self
            .group_mut(group)?
            .full_runs
            .get(usize::from(family == Family::IPV6_UNICAST))
            .copied()
            .flatten();
        ex.stream = hint.map(Stream::new);
        ex.count = ex.other;
        // The walk needs the rest of the RIB for the decisions while it updates the
        // values: the tables are moved out for the walk and always put back.
        let mut tables = core::mem::take(&mut self.tables);
        if family == Family::IPV4_UNICAST {
            ex.own_v4 = PrefixSet::new();
            full_walk::<Ipv4Net>(self, &mut tables, &mut ex);
        } else if family == Family::IPV6_UNICAST {
            ex.own_v6 = PrefixSet::new();
            full_walk::<Ipv6Net>(self, &mut tables, &mut ex);
        }
        self.tables = tables;
        ex.finish(self, group, None)
    }

    /// UPDATEs for `group` that carry out `changes` (as returned by the import calls):
    /// announcements of new best paths, withdrawals of prefixes the group had been sent
    /// and may no longer be.
    pub fn export_changes(
        &mut self,
        group: GroupId,
        changes: &[Change],
    ) -> Result<ExportBatch, RibError> {
        self.export_changes_to(&[group], changes)
            .pop()
            .unwrap_or(Err(RibError::UnknownGroup(group)))
    }

    /// [`Rib::export_changes`] for several update groups at once, one result per group in
    /// the order given: each changed prefix is looked up once for all of them.
    pub fn export_changes_to(
        &mut self,
        groups: &[GroupId],
        changes: &[Change],
    ) -> Vec<Result<ExportBatch, RibError>> {
        // Per group: the batch and its messages per family (joined only when both have some).
        let mut results: Vec<Result<(ExportBatch, Vec<Bytes>), RibError>> = groups
            .iter()
            .map(|_| Ok((ExportBatch::default(), Vec::new())))
            .collect();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let mut exporters: Vec<(usize, Exporter)> = Vec::new();
            for (i, &group) in groups.iter().enumerate() {
                let wanted = match self.group_mut(group) {
                    Ok(g) => g.key.families.contains(family),
                    Err(e) => {
                        if let Some(r) = results.get_mut(i) {
                            *r = Err(e);
                        }
                        continue;
                    }
                };
                if !wanted || results.get(i).is_some_and(Result::is_err) {
                    continue;
                }
                match self.exporter(group, family, changes.len()) {
                    Ok(mut ex) => {
                        ex.entries.reserve(changes.len());
                        exporters.push((i, ex));
                    }
                    Err(e) => {
                        if let Some(r) = results.get_mut(i) {
                            *r = Err(e);
                        }
                    }
                }
            }
            if exporters.is_empty() {
                continue;
            }
            for i in 0..exporters.len() {
                let (done, rest) = exporters.split_at_mut(i);
                if let Some((_, ex)) = rest.first_mut() {
                    ex.shape = done
                        .iter()
                        .find(|(_, d)| d.key.same_shape(&ex.key))
                        .map_or(i as u32, |(_, d)| d.shape);
                }
            }
            let shapes: Vec<u32> = exporters.iter().map(|(_, ex)| ex.shape).collect();
            for (_, ex) in exporters.iter_mut() {
                ex.shape_shared = shapes.iter().filter(|&&s| s == ex.shape).count() > 1;
            }
            let mut tables = core::mem::take(&mut self.tables);
            if family == Family::IPV4_UNICAST {
                offer_changes::<Ipv4Net>(self, &mut tables, &mut exporters, changes);
            } else {
                offer_changes::<Ipv6Net>(self, &mut tables, &mut exporters, changes);
            }
            self.tables = tables;
            // A group whose UPDATEs are an earlier group's with another next hop copies
            // them and rewrites the next hops instead of encoding them again.
            let mut plan: Vec<Option<(usize, Vec<NextHopSwap>)>> = Vec::new();
            for (j, (_, ex)) in exporters.iter().enumerate() {
                let found = exporters
                    .iter()
                    .take(j)
                    .enumerate()
                    .find_map(|(i, (_, l))| {
                        if plan.get(i).is_some_and(Option::is_some) {
                            return None;
                        }
                        ex.copy_of(l).map(|m| (i, m))
                    });
                plan.push(found);
            }
            let mut finished: Vec<Option<ExportBatch>> = Vec::new();
            for ((i, ex), copy) in exporters.into_iter().zip(plan) {
                let Some(&group) = groups.get(i) else {
                    finished.push(None);
                    continue;
                };
                let leader = copy.as_ref().and_then(|(l, m)| {
                    finished
                        .get(*l)
                        .and_then(Option::as_ref)
                        .map(|b| (b, m.as_slice()))
                });
                let done = ex.finish(self, group, leader);
                finished.push(done.as_ref().ok().cloned());
                if let Some(r) = results.get_mut(i) {
                    match (done, r) {
                        (Ok(b), Ok((out, parts))) => {
                            if !b.messages.is_empty() {
                                parts.push(b.messages);
                            }
                            out.message_count += b.message_count;
                            out.announced += b.announced;
                            out.withdrawn += b.withdrawn;
                            out.suppressed += b.suppressed;
                        }
                        (Err(e), r) => *r = Err(e),
                        (Ok(_), Err(_)) => {}
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.map(|(mut out, mut parts)| {
                    out.messages = match parts.len() {
                        0 => Bytes::new(),
                        1 => parts.pop().unwrap_or_default(),
                        _ => parts.concat().into(),
                    };
                    out
                })
            })
            .collect()
    }

    /// Takes the group's state out for one export pass of about `pass_len` prefixes.
    fn exporter(
        &mut self,
        group: GroupId,
        family: Family,
        pass_len: usize,
    ) -> Result<Exporter, RibError> {
        let live = self.attrs.len();
        let g = self.group_mut(group)?;
        if g.packed.iter().map(PackedBuilders::len).sum::<usize>() > 2 * live + 1024 {
            // Builders of freed sets pile up; start over.
            g.builders.clear();
            g.packed.iter_mut().for_each(PackedBuilders::clear);
            g.builder_meta = Default::default();
            g.memo = Default::default();
        }
        let v6 = usize::from(family == Family::IPV6_UNICAST);
        let count = g.counts[0] + g.counts[1];
        let other = if family == Family::IPV6_UNICAST {
            g.counts[0]
        } else {
            g.counts[1]
        };
        let policy_reads_prefix = g.key.policy.rules.iter().any(|r| {
            r.conditions
                .iter()
                .any(crate::policy::Condition::reads_prefix)
        });
        let mut ex = Ok(Exporter {
            key: g.key.clone(),
            family,
            fresh: false,
            count,
            other,
            bit: g.bit,
            shape: 0,
            shape_shared: false,
            own_v4: core::mem::take(&mut g.own_v4),
            own_v6: core::mem::take(&mut g.own_v6),
            builders: core::mem::take(&mut g.builders),
            packed: match g.packed.get_mut(v6) {
                Some(p) => core::mem::replace(p, PackedBuilders::new(&g.key.session, family)),
                None => PackedBuilders::new(&g.key.session, family),
            },
            builder_meta: g
                .builder_meta
                .get_mut(v6)
                .map(core::mem::take)
                .unwrap_or_default(),
            uncached: Vec::new(),
            entries: core::mem::take(&mut g.entries),
            sorted: core::mem::take(&mut g.sorted),
            nlri_octets: 0,
            withdrawn: Vec::new(),
            verdict: Verdict::default(),
            suppressed: 0,
            error: None,
            memo: g.memo.get_mut(v6).map(core::mem::take).unwrap_or_default(),
            memo_ok: !policy_reads_prefix,
            scratch: Vec::new(),
            stream: None,
        });
        if let Ok(ex) = &mut ex {
            if ex.memo_ok {
                let large = pass_len >= MEMO_ARRAY_PASS;
                ex.memo
                    .catch_up(&self.attrs, self.attrs.index_bound(), large);
            } else {
                ex.memo.clear();
            }
        }
        ex
    }

    fn group_mut(&mut self, group: GroupId) -> Result<&mut Group, RibError> {
        self.groups
            .get_mut(group.0 as usize)
            .and_then(Option::as_mut)
            .ok_or(RibError::UnknownGroup(group))
    }

    /// Whether the group gets this best path; fills `verdict` with the export rules that
    /// applied.
    fn decide(
        &self,
        key: &ExportKey,
        prefix: IpNet,
        best: Path,
        verdict: &mut Verdict,
    ) -> Option<(AttrId, PeerId)> {
        let from = self.sources.peer(best.source());
        let from_kind = self.peers.get(from.index())?.as_ref()?.kind;
        if !may_advertise(from_kind, key.kind) {
            return None;
        }
        let a = self.attrs.get(best.attrs)?;
        // RFC 1997 well-known communities.
        if a.no_advertise() {
            return None;
        }
        if key.kind == PeerKind::External && (a.no_export() || a.no_export_subconfed()) {
            return None;
        }
        // Sender-side loop detection: an external peer whose AS is already in the path would
        // drop it (RFC 4271 §9.1.2), so it is not sent, which also keeps a route from going
        // back to the eBGP peer it came from. Update groups with it on are per remote AS, so
        // this holds for every member alike.
        if let Some(asn) = key.loop_as
            && a.as_path().any(|x| x == asn)
        {
            return None;
        }
        key.policy.evaluate_into(&prefix, a, verdict);
        verdict.accept.then_some((best.attrs, from))
    }

    /// The next hop a group sends for a set (`None`: it needs our address and the group
    /// has none of that family).
    fn export_next_hop(&self, key: &ExportKey, a: &PathAttrs) -> Option<NextHopAddr> {
        let external = key.kind == PeerKind::External;
        let nh = a.next_hop();
        let own = match nh {
            NextHopAddr::V4(_) => key.local_v4.map(NextHopAddr::V4),
            NextHopAddr::V6 { .. } => key.local_v6.map(|g| NextHopAddr::V6 {
                global: g,
                link_local: None,
            }),
        };
        if nh.is_unspecified() || key.next_hop_self || (external && !key.next_hop_unchanged) {
            own
        } else {
            Some(nh)
        }
    }

    /// [`Rib::make`] and the builder's encoding in one step, for the common case of no
    /// export-policy action and a 4-octet-AS session: the set's canonical attributes are
    /// copied into `out` in wire form with the export's changes merged in by type, and
    /// the builder is made from those bytes. The result is byte for byte what
    /// [`Rib::make`] and [`UpdateBuilder::announce`] give (a unit test holds the two
    /// together), at one allocation instead of one per attribute and step.
    ///
    /// `None`: this set needs the general path (2-octet session, or a value too long to
    /// frame, which the general path reports).
    fn encode_export(
        &self,
        key: &ExportKey,
        family: Family,
        id: AttrId,
        from: PeerId,
        out: &mut Vec<u8>,
    ) -> Option<Result<Option<UpdateBuilder>, RibError>> {
        if !key.session.four_octet_as {
            return None;
        }
        let a = self.attrs.get(id)?;
        let from_peer = self.peers.get(from.index())?.as_ref()?;
        let Some(next_hop) = self.export_next_hop(key, a) else {
            return Some(Ok(None));
        };
        // The rules, then what `make` does after the (here absent) policy actions: the
        // group's MED and the AS prepend towards external peers.
        let mut changes = self.session_rewrites(key, a, from_peer);
        if let Some(med) = key.med {
            set_rewrite(
                &mut changes,
                AttrType::MULTI_EXIT_DISC,
                Some((AttrFlags::OPTIONAL, med.to_be_bytes().to_vec())),
            );
        }
        if key.kind == PeerKind::External {
            let path = prepend_as_path(
                a.as_path_bytes(),
                self.cfg.local_as,
                1u8.saturating_add(key.prepend),
            );
            set_rewrite(
                &mut changes,
                AttrType::AS_PATH,
                Some((AttrFlags::TRANSITIVE, path)),
            );
        }
        out.clear();
        let mut pending = changes
            .iter()
            .map(|(t, new)| (*t, new.as_ref().map(|(f, v)| (*f, v.as_slice()))))
            .peekable();
        let mut ok = true;
        let mut emit = |out: &mut Vec<u8>, (t, new): (AttrType, Option<(u8, &[u8])>)| {
            if let Some((flags, v)) = new {
                ok &= push_export_attr(out, flags, t, v);
            }
        };
        for r in a.raw_attrs() {
            // Rewrites of lower types go first; one of this type replaces it.
            let mut replaced = false;
            while let Some(w) = pending.next_if(|w| w.0.0 <= r.type_code.0) {
                replaced |= w.0 == r.type_code;
                emit(out, w);
            }
            let carried = !matches!(
                r.type_code,
                AttrType::NEXT_HOP | AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI
            );
            if !replaced && carried {
                emit(out, (r.type_code, Some((r.flags, r.value))));
            }
        }
        for w in pending {
            emit(out, w);
        }
        if !ok {
            return None;
        }
        Some(
            UpdateBuilder::announce_encoded(&key.session, family, next_hop.to_wire(), out)
                .map(Some)
                .map_err(RibError::Encode),
        )
    }

    /// What RFC 4271 and RFC 4456 change in set `a` for a group before its export policy
    /// runs, by attribute type in ascending order: removed (`None`) or set to (flags,
    /// value). [`Rib::make`] applies them one by one; [`Rib::encode_export`] merges them
    /// while copying the set.
    fn session_rewrites(&self, key: &ExportKey, a: &PathAttrs, from_peer: &Peer) -> Rewrites {
        let mut out: Rewrites = Vec::with_capacity(4);
        if key.kind == PeerKind::External {
            // RFC 4271 §5.1.4: a MED received from a neighbouring AS "MUST NOT be
            // propagated to other neighboring ASes". Locally originated routes keep theirs.
            if from_peer.kind != PeerKind::Local {
                out.push((AttrType::MULTI_EXIT_DISC, None));
            }
            out.push((AttrType::LOCAL_PREF, None));
            out.push((AttrType::ORIGINATOR_ID, None));
            out.push((AttrType::CLUSTER_LIST, None));
            return out;
        }
        let lp = a.local_pref().unwrap_or(self.cfg.default_local_pref);
        out.push((
            AttrType::LOCAL_PREF,
            Some((AttrFlags::TRANSITIVE, lp.to_be_bytes().to_vec())),
        ));
        if matches!(from_peer.kind, PeerKind::Internal | PeerKind::Client) {
            // RFC 4456 §8: "An RR SHOULD create the ORIGINATOR_ID attribute if it does
            // not exist ... set to the BGP Identifier of the peer from which the
            // route was received"; "When an RR reflects a route, it MUST prepend the
            // local CLUSTER_ID to the CLUSTER_LIST."
            if a.originator_id().is_none() {
                out.push((
                    AttrType::ORIGINATOR_ID,
                    Some((AttrFlags::OPTIONAL, from_peer.router_id.octets().to_vec())),
                ));
            }
            let mut list = self.cfg.cluster_id().octets().to_vec();
            for c in a.cluster_list() {
                list.extend_from_slice(&c.octets());
            }
            out.push((AttrType::CLUSTER_LIST, Some((AttrFlags::OPTIONAL, list))));
        }
        out
    }

    /// The attributes to send for a set to a group (`None`: no usable next hop).
    fn make(&self, key: &ExportKey, id: AttrId, from: PeerId, applied: &[u16]) -> Option<Made> {
        let a = self.attrs.get(id)?;
        let from_peer = self.peers.get(from.index())?.as_ref()?;
        let local_as = self.cfg.local_as;
        let external = key.kind == PeerKind::External;
        let next_hop = self.export_next_hop(key, a)?;
        let mut out: PathAttrs = a.clone();
        for (t, new) in self.session_rewrites(key, a, from_peer) {
            out = out.with_attr(t, new.as_ref().map(|(f, v)| (*f, v.as_slice())));
        }
        if !applied.is_empty() {
            out = key.policy.apply(applied, &out, local_as);
        }
        if let Some(med) = key.med {
            out = apply_action(&Action::SetMed(med), &out, local_as);
        }
        if external {
            // RFC 4271 §5.1.2: prepend our AS when advertising to an external peer.
            let v = prepend_as_path(
                out.as_path_bytes(),
                local_as,
                1u8.saturating_add(key.prepend),
            );
            out = out.with_attr(AttrType::AS_PATH, Some((AttrFlags::TRANSITIVE, &v)));
        }
        let four = key.session.four_octet_as;
        let attributes = out
            .raw_attrs()
            .map(|r| {
                let mut flags = r.flags & !AttrFlags::EXTENDED_LENGTH;
                if AttrFlags::expected_for(r.type_code).is_none()
                    && flags & AttrFlags::TRANSITIVE != 0
                {
                    // RFC 4271 §5: unrecognized optional transitive attributes are passed
                    // on with the Partial bit set.
                    flags |= AttrFlags::PARTIAL;
                }
                let value = match r.type_code {
                    AttrType::AS_PATH if !four => AttrValue::AsPath(out.as_path_owned()),
                    AttrType::AGGREGATOR if !four => match aggregator(r.value) {
                        Some(agg) => AttrValue::Aggregator(agg),
                        None => raw(r.type_code, r.value),
                    },
                    t => raw(t, r.value),
                };
                Attribute {
                    flags: AttrFlags(flags),
                    value,
                }
            })
            .collect();
        Some(Made {
            next_hop,
            attributes,
        })
    }
}

/// Attribute types an export removes (`None`) or sets to (flags, value), ascending.
type Rewrites = Vec<(AttrType, Option<(u8, Vec<u8>)>)>;

/// Puts one rewrite into `list`, replacing one of the same type, keeping the order.
fn set_rewrite(list: &mut Rewrites, t: AttrType, new: Option<(u8, Vec<u8>)>) {
    match list.binary_search_by_key(&t.0, |(x, _)| x.0) {
        Ok(i) => {
            if let Some(e) = list.get_mut(i) {
                e.1 = new;
            }
        }
        Err(i) => list.insert(i, (t, new)),
    }
}

/// Appends one attribute as the builder frames it for the wire: Extended Length exactly
/// for values over 255 octets, and the Partial bit on unrecognized optional transitive
/// attributes passed on (RFC 4271 §5). `false` when the value cannot be framed.
fn push_export_attr(out: &mut Vec<u8>, flags: u8, t: AttrType, value: &[u8]) -> bool {
    let Ok(len) = u16::try_from(value.len()) else {
        return false;
    };
    let mut flags = flags & !AttrFlags::EXTENDED_LENGTH;
    if AttrFlags::expected_for(t).is_none() && flags & AttrFlags::TRANSITIVE != 0 {
        flags |= AttrFlags::PARTIAL;
    }
    if len > 255 {
        out.extend_from_slice(&[flags | AttrFlags::EXTENDED_LENGTH, t.0]);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.extend_from_slice(&[flags, t.0, len as u8]);
    }
    out.extend_from_slice(value);
    true
}

/// A next hop as the NEXT_HOP attribute or MP_REACH_NLRI carries it.
fn next_hop_octets(nh: NextHopAddr) -> Vec<u8> {
    match nh {
        NextHopAddr::V4(a) => a.octets().to_vec(),
        NextHopAddr::V6 { global, link_local } => {
            let mut v = global.octets().to_vec();
            if let Some(l) = link_local {
                v.extend_from_slice(&l.octets());
            }
            v
        }
    }
}

fn raw(type_code: AttrType, value: &[u8]) -> AttrValue {
    AttrValue::Raw {
        type_code,
        value: Bytes::copy_from_slice(value),
    }
}

fn aggregator(v: &[u8]) -> Option<bgp_wire::Aggregator> {
    let (asn, addr) = v.split_first_chunk::<4>()?;
    let addr: [u8; 4] = addr.try_into().ok()?;
    Some(bgp_wire::Aggregator {
        asn: u32::from_be_bytes(*asn),
        address: Ipv4Addr::from(addr),
    })
}

/// Encoding errors can only come from inconsistent configuration (e.g. a prefix of the
/// wrong family); they are reported, never panicked on.
impl From<EncodeError> for RibError {
    fn from(e: EncodeError) -> Self {
        RibError::Encode(e)
    }
}

impl Rib {
    /// After `peer` changed update group: the new group's full view for each negotiated
    /// family, then withdrawals of the prefixes in `before` (what it had been sent) that the
    /// new group does not advertise. For `peer` alone.
    pub(crate) fn resync_export(
        &mut self,
        peer: PeerId,
        before: &[IpNet],
    ) -> Result<ExportBatch, RibError> {
        let Some(group) = self.update_group(peer) else {
            return Ok(ExportBatch::default());
        };
        let (families, session) = {
            let p = self.peer(peer)?;
            (p.families, p.session.unwrap_or_default())
        };
        // The RIB holds the unicast families only.
        let families: Vec<Family> = [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            .into_iter()
            .filter(|f| families.contains(*f))
            .collect();
        let mut out = ExportBatch::default();
        let mut buf = BytesMut::new();
        for &family in &families {
            let b = self.export_full(group, family)?;
            buf.extend_from_slice(&b.messages);
            out.message_count += b.message_count;
            out.announced += b.announced;
            out.suppressed += b.suppressed;
        }
        let after: std::collections::HashSet<IpNet> = self.advertised(peer).into_iter().collect();
        for family in families {
            let v4 = family.afi == bgp_wire::Afi::IPV4;
            let gone: Vec<Nlri> = before
                .iter()
                .filter(|p| !after.contains(p) && matches!(p, IpNet::V4(_)) == v4)
                .map(|p| Nlri::new(*p))
                .collect();
            out.withdrawn += gone.len();
            out.message_count +=
                UpdateBuilder::withdraw(&session, family).encode(gone, &mut buf)?;
        }
        out.messages = buf.freeze();
        Ok(out)
    }

    /// The prefixes currently advertised to a peer (what its update group was last sent),
    /// for `show advertised`. Empty when the peer's session is down.
    pub fn advertised(&self, peer: PeerId) -> Vec<IpNet> {
        let Some(group) = self.update_group(peer) else {
            return Vec::new();
        };
        let Some(g) = self.groups.get(group.0 as usize).and_then(Option::as_ref) else {
            return Vec::new();
        };
        if g.bit != 0 {
            let bit = g.bit;
            return self
                .tables
                .v4
                .iter()
                .filter(|(_, s)| s.out() & bit != 0)
                .map(|(p, _)| IpNet::V4(p))
                .chain(
                    self.tables
                        .v6
                        .iter()
                        .filter(|(_, s)| s.out() & bit != 0)
                        .map(|(p, _)| IpNet::V6(p)),
                )
                .collect();
        }
        g.own_v4
            .iter()
            .map(IpNet::V4)
            .chain(g.own_v6.iter().map(IpNet::V6))
            .collect()
    }
}

/// Offers each changed prefix of family `P` to every exporter: one lookup per prefix
/// for all the groups. A prefix left with no path and no group bit goes.
fn offer_changes<P: Pfx>(
    rib: &Rib,
    tables: &mut Tables,
    exporters: &mut [(usize, Exporter)],
    changes: &[Change],
) {
    let (map, lists, tombs) = P::split_tombs(tables);
    let mut shared = SharedBuilders::default();
    // Each prefix once, whatever happened to it in between (only its present best path
    // is offered), and in prefix order, so that the NLRI come out sorted (the same
    // changes give the same bytes whatever order they were found in).
    let mut order: Vec<P> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Multipath)
        .filter_map(|c| P::from_net(c.prefix))
        .collect();
    order.sort_unstable();
    order.dedup();
    for prefix in order {
        let net: IpNet = prefix.into();
        // One lookup serves the offers and, for a prefix kept only for its withdrawal,
        // the removal.
        let TableEntry::Occupied(mut entry) = map.entry(prefix) else {
            for (_, ex) in exporters.iter_mut() {
                // Nothing to announce without a path.
                let _ = ex.offer(rib, &mut shared, net, None, None);
            }
            continue;
        };
        let row = entry.row();
        let slot = entry.get_mut();
        let best = tbl::best(lists.get(slot));
        for (_, ex) in exporters.iter_mut() {
            if let Some(b) = ex.offer(rib, &mut shared, net, best, Some(&mut *slot)) {
                ex.push_entry(b, net, row);
            }
        }
        if slot.is_empty() && slot.out() == 0 {
            entry.remove();
            *tombs = tombs.saturating_sub(1);
        }
    }
    map.tidy();
}

/// Offers every prefix of family `P` to a full export pass, then drops the prefixes
/// with no path that no group has advertised any more.
fn full_walk<P: Pfx>(rib: &Rib, tables: &mut Tables, ex: &mut Exporter) {
    let (map, lists, tombs) = P::split_tombs(tables);
    let mut gone: Vec<u32> = Vec::new();
    let mut shared = SharedBuilders::default();
    // A streaming pass holds one run's entries at a time.
    if ex.stream.is_none() {
        ex.entries.reserve(map.len());
    }
    if map.len() >= MEMO_ARRAY_PASS {
        // About one builder per live set: grown once rather than by doubling.
        let more = rib.attrs.len().saturating_sub(ex.packed.len());
        ex.packed.reserve(more);
        ex.builder_meta.reserve(more);
    }
    let mut run = NlriBuf::new(&ex.key.session, ex.family);
    // What `offer_known` needs: a fresh full pass, the group's bit, no cap, the memo.
    let known = ex.fresh
        && ex.bit != 0
        && ex.key.max_export.is_none()
        && ex.memo_ok
        && !ex.memo.array.is_empty();
    let mut source = (u32::MAX, 0);
    for (row, prefix, slot) in map.rows_mut() {
        let best = tbl::best(lists.get(slot));
        let known = if known {
            ex.offer_known(rib, best, slot, &mut source)
        } else {
            None
        };
        let builder = match known {
            Some(b) => b,
            None => ex.offer(rib, &mut shared, prefix.into(), best, Some(&mut *slot)),
        };
        if let Some(b) = builder {
            ex.add(b, prefix, row, &mut run);
        }
        if slot.is_empty() && slot.out() == 0 {
            gone.push(row);
        }
    }
    ex.stream_end(&mut run);
    drop_unheld(map, tombs, gone);
}

/// Clears one group's bit in every value of family `P` and drops the prefixes kept
/// only for it.
fn clear_out_bit<P: Pfx>(tables: &mut Tables, bit: u32) {
    let (map, _, tombs) = P::split_tombs(tables);
    let mut gone: Vec<u32> = Vec::new();
    for (row, _, slot) in map.rows_mut() {
        slot.set_out(bit, false);
        if slot.is_empty() && slot.out() == 0 {
            gone.push(row);
        }
    }
    drop_unheld(map, tombs, gone);
}

/// Removes prefixes that have no path and that no group holds any more (`gone`: their
/// rows).
fn drop_unheld<P: Pfx>(map: &mut PrefixTable<P>, tombs: &mut usize, gone: Vec<u32>) {
    *tombs = tombs.saturating_sub(gone.len());
    map.remove_rows(&gone);
    map.tidy();
}

#[cfg(test)]
mod tests {
    use super::*;
    use PeerKind::*;

    /// The one-step encoder (`encode_export`) against the general path (`make` and
    /// `UpdateBuilder::announce`): the same bytes for every combination of attributes,
    /// source kind and group configuration, IPv4 and IPv6.
    #[test]
    fn direct_encoding_matches_the_general_path() {
        use crate::rib::RibConfig;
        use bgp_wire::{AsPath, Community, Nlri, Origin, Segment, SegmentType};
        use std::net::{IpAddr, Ipv6Addr};

        const LOCAL_AS: u32 = 64512;
        let mut rib = Rib::new(RibConfig::new(LOCAL_AS, Ipv4Addr::new(192, 0, 2, 1)));
        let add = |rib: &mut Rib, n: u8, asn: u32, f: &dyn Fn(&mut crate::PeerConfig)| {
            let mut cfg = crate::PeerConfig::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), asn);
            cfg.local_v4 = Some(Ipv4Addr::new(10, 0, 0, 200));
            cfg.local_v6 = Some("2001:db8::200".parse().unwrap());
            f(&mut cfg);
            let id = rib.add_peer(cfg).unwrap();
            let params = SessionParams::default()
                .with_four_octet_as(true)
                .with_external(asn != LOCAL_AS);
            rib.peer_up(id, Ipv4Addr::new(1, 1, 1, n), params).unwrap();
            id
        };
        // Sources.
        let ext = add(&mut rib, 1, 65001, &|_| {});
        let int = add(&mut rib, 2, LOCAL_AS, &|_| {});
        let client = add(&mut rib, 3, LOCAL_AS, &|c| c.route_reflector_client = true);
        // Groups.
        let targets = [
            add(&mut rib, 10, 65100, &|_| {}),
            add(&mut rib, 11, 65101, &|c| {
                c.export_prepend = 2;
                c.export_med = Some(50);
            }),
            add(&mut rib, 12, 65102, &|c| c.next_hop_unchanged = true),
            add(&mut rib, 13, LOCAL_AS, &|_| {}),
            add(&mut rib, 14, LOCAL_AS, &|c| c.route_reflector_client = true),
            add(&mut rib, 15, LOCAL_AS, &|c| {
                c.route_reflector_client = true;
                c.export_med = Some(7);
                c.next_hop_self = true;
            }),
        ];
        // Sets: every combination of the attributes the export adds, removes or rewrites,
        // a long (extended-length) AS_PATH with an AS_SET, and attributes passed on as
        // they are (unknown optional transitive, AGGREGATOR, communities).
        let mut n = 0u32;
        for local_pref in [None, Some(200)] {
            for med in [None, Some(5)] {
                for originator in [None, Some(Ipv4Addr::new(9, 9, 9, 9))] {
                    for clusters in [0usize, 2] {
                        for long in [false, true] {
                            for extra in [false, true] {
                                let mut path = AsPath::sequence(
                                    (0..if long { 80 } else { 3 }).map(|i| 65001 + i),
                                );
                                if long {
                                    path.segments.push(Segment {
                                        kind: SegmentType::Set,
                                        asns: vec![64999, 64998],
                                    });
                                }
                                let mut v = vec![
                                    Attribute::new(AttrValue::Origin(Origin::Incomplete)),
                                    Attribute::new(AttrValue::AsPath(path)),
                                ];
                                if let Some(lp) = local_pref {
                                    v.push(Attribute::new(AttrValue::LocalPref(lp)));
                                }
                                if let Some(m) = med {
                                    v.push(Attribute::new(AttrValue::Med(m)));
                                }
                                if let Some(o) = originator {
                                    v.push(Attribute::new(AttrValue::OriginatorId(o)));
                                }
                                if clusters > 0 {
                                    v.push(Attribute::new(AttrValue::ClusterList(
                                        (0..clusters as u8)
                                            .map(|i| Ipv4Addr::new(7, 7, 7, i))
                                            .collect(),
                                    )));
                                }
                                if extra {
                                    v.push(Attribute::new(AttrValue::Communities(vec![
                                        Community(0xfde8_0001),
                                    ])));
                                    v.push(Attribute::new(AttrValue::Aggregator(
                                        bgp_wire::Aggregator {
                                            asn: 65001,
                                            address: Ipv4Addr::new(9, 9, 9, 1),
                                        },
                                    )));
                                    v.push(Attribute {
                                        flags: AttrFlags(
                                            AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE,
                                        ),
                                        value: AttrValue::Raw {
                                            type_code: AttrType(99),
                                            value: Bytes::from_static(b"unknown"),
                                        },
                                    });
                                }
                                n += 1;
                                let v4 = Nlri::new(
                                    format!("10.{}.{}.0/24", n / 256, n % 256).parse().unwrap(),
                                );
                                let v6 = Nlri::new(format!("2001:db8:{n:x}::/48").parse().unwrap());
                                let nh6 = NextHopAddr::V6 {
                                    global: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                                    link_local: None,
                                };
                                rib.announce(
                                    client,
                                    NextHopAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                                    &v,
                                    [v4],
                                )
                                .unwrap();
                                rib.announce(client, nh6, &v, [v6]).unwrap();
                            }
                        }
                    }
                }
            }
        }
        let sets: Vec<AttrId> = (0..rib.attrs.index_bound() as u32)
            .map(AttrId)
            .filter(|&id| rib.attrs.get(id).is_some())
            .collect();
        assert_eq!(sets.len(), 2 * n as usize);
        let mut compared = 0;
        let mut scratch = Vec::new();
        for &target in &targets {
            let peer = rib.peer(target).unwrap();
            let key = ExportKey::of(peer, peer.session.unwrap());
            for from in [PeerId::LOCAL, ext, int, client] {
                for &id in &sets {
                    let a = rib.attrs.get(id).unwrap();
                    let (family, nlri) = match a.next_hop() {
                        NextHopAddr::V4(_) => (
                            Family::IPV4_UNICAST,
                            Nlri::new("10.0.0.0/8".parse().unwrap()),
                        ),
                        NextHopAddr::V6 { .. } => (
                            Family::IPV6_UNICAST,
                            Nlri::new("2001:db8::/32".parse().unwrap()),
                        ),
                    };
                    let slow = rib.make(&key, id, from, &[]).map(|m| {
                        UpdateBuilder::announce(
                            &key.session,
                            family,
                            m.next_hop.to_wire(),
                            &m.attributes,
                        )
                        .unwrap()
                    });
                    let fast = rib
                        .encode_export(&key, family, id, from, &mut scratch)
                        .expect("a 4-octet session takes the direct path")
                        .unwrap();
                    let ctx = format!("target {target:?} from {from:?} set {a:?}");
                    match (slow, fast) {
                        (None, None) => {}
                        (Some(s), Some(f)) => {
                            assert_eq!(s.attribute_bytes(), f.attribute_bytes(), "{ctx}");
                            let (mut x, mut y) = (BytesMut::new(), BytesMut::new());
                            s.encode([nlri], &mut x).unwrap();
                            f.encode([nlri], &mut y).unwrap();
                            assert_eq!(x, y, "{ctx}");
                            compared += 1;
                        }
                        (s, f) => {
                            panic!("{ctx}: general {:?}, direct {:?}", s.is_some(), f.is_some())
                        }
                    }
                }
            }
        }
        assert_eq!(compared, targets.len() * 4 * sets.len());
        // A 2-octet session goes the general way.
        let peer = rib.peer(targets[0]).unwrap();
        let key = ExportKey::of(peer, SessionParams::default());
        assert!(
            rib.encode_export(&key, Family::IPV4_UNICAST, sets[0], ext, &mut scratch)
                .is_none()
        );
    }

    #[test]
    fn rfc4456_section8_matrix() {
        // (from, to, advertised)
        let cases = [
            // "A route from a Non-Client IBGP peer: Reflect to all the Clients."
            (Internal, Client, true),
            (Internal, Internal, false),
            (Internal, External, true),
            // "A route from a Client peer: Reflect to all the Non-Client peers and also to
            // the Client peers."
            (Client, Client, true),
            (Client, Internal, true),
            (Client, External, true),
            // "A route from an EBGP peer: Send to all the Client and Non-Client Peers."
            (External, Client, true),
            (External, Internal, true),
            (External, External, true),
            // Locally originated routes go to everyone.
            (Local, Client, true),
            (Local, Internal, true),
            (Local, External, true),
        ];
        for (from, to, want) in cases {
            assert_eq!(may_advertise(from, to), want, "{from:?} -> {to:?}");
        }
    }
}
