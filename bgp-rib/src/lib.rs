//! `bgp-rib`: the routing tables of a BGP-4 speaker — Adj-RIB-In, Loc-RIB and
//! Adj-RIB-Out — as a pure data structure that returns what changed.
//!
//! No I/O, no threads, no clock: the daemon feeds UPDATEs ([`Rib::apply_update`]) and
//! session events ([`Rib::peer_up`], [`Rib::peer_down`]) in, and gets [`Change`]s back —
//! for each prefix, whether the best path changed, the multipath (ECMP) set changed, or
//! the prefix is gone — which say exactly what to install and what to advertise.
//!
//! # Model and invariants
//!
//! * One table per family (IPv4 and IPv6 unicast): the rows (prefix and value) in
//!   fixed-size chunks, so that walks over every prefix (full export, a peer going down)
//!   read memory in order, and a hash index from each prefix to its row (keyed per table
//!   with random keys; see *Performance* for why not a trie). Each
//!   prefix holds the paths received from every peer (ADD-PATH aware: a path is
//!   identified by peer and path identifier), after import processing, ordered best
//!   first; the best path and the multipath members at the front are the Loc-RIB. A path
//!   is 8 octets (attribute set index, source, status); a prefix with one path allocates
//!   nothing beyond its row.
//! * Attribute sets are interned ([`PathAttrs`], referenced by [`AttrId`]): decoded once
//!   into a canonical form and shared by every prefix and peer that carries them;
//!   reference counted, freed with the last path.
//! * Best-path selection ([`best`]) is the RFC 4271 §9.1.2.2 / RFC 4456 §9 chain run as
//!   eliminations over all paths of the prefix, so the result never depends on the order
//!   paths arrived in; each losing path records the step it lost at ([`LostAt`], shown by
//!   [`Rib::explain`]).
//! * Nothing any peer sends makes the RIB panic; resource limits (max-prefix per peer,
//!   2^27 ADD-PATH sources) are explicit.
//!
//! # Example
//!
//! ```
//! use bgp_rib::{ChangeKind, NextHopAddr, PeerConfig, Rib, RibConfig};
//! use bgp_wire::{AsPath, AttrValue, Attribute, Nlri, Origin, SessionParams};
//!
//! let mut rib = Rib::new(RibConfig::new(64512, "192.0.2.1".parse().unwrap()));
//! let peer = rib.add_peer(PeerConfig::new("169.254.10.1".parse().unwrap(), 65001)).unwrap();
//! rib.peer_up(peer, "10.0.0.1".parse().unwrap(), SessionParams::default()).unwrap();
//!
//! let attrs = [
//!     Attribute::new(AttrValue::Origin(Origin::Igp)),
//!     Attribute::new(AttrValue::AsPath(AsPath::sequence([65001]))),
//! ];
//! let prefix = "10.1.0.0/16".parse().unwrap();
//! let out = rib
//!     .announce(peer, NextHopAddr::V4("169.254.10.1".parse().unwrap()), &attrs, [Nlri::new(prefix)])
//!     .unwrap();
//! assert_eq!(out.changes[0].kind, ChangeKind::Best);
//! assert_eq!(rib.best(prefix).unwrap().peer, peer);
//!
//! // The session drops: the daemon learns the prefix is gone.
//! let changes = rib.peer_down(peer).unwrap();
//! assert_eq!(changes[0].kind, ChangeKind::Withdrawn);
//! assert!(rib.is_empty());
//! ```

//! # Import, export, tunnels, restart
//!
//! * Import ([`Rib::apply_update`] for decoded UPDATEs, [`Rib::announce`] /
//!   [`Rib::withdraw`] for owned routes): RFC 7606 treat-as-withdraw and AFI/SAFI disable,
//!   AS-path loop check with allowas-in, RFC 4456 §8 ORIGINATOR_ID / CLUSTER_LIST checks,
//!   the per-peer import [`Policy`] (prefix lists with ge/le, AS-path and community
//!   matches, set LOCAL_PREF / MED / communities, prepend, reject) and max-prefix with a
//!   configurable [`MaxPrefixAction`].
//! * Export ([`export`]): peers with identical export configuration form an update group
//!   ([`GroupId`]) whose UPDATEs are encoded once ([`Rib::export_full`],
//!   [`Rib::export_changes`]); RFC 4456 reflection rules in [`may_advertise`], well-known
//!   communities, next-hop-self / unchanged, AS-path prepend, max export count, and
//!   sender-side loop detection for eBGP ([`PeerConfig::sender_side_loop_detection`]; with
//!   it off, eBGP peers that differ only in their AS share a group).
//! * Locally originated routes ([`LocalRoute`]), optionally only while a caller-supplied
//!   condition holds ([`Rib::set_origin_condition`]).
//! * Tunnel pairs ([`TunnelPair`]): active/standby via import LOCAL_PREF and export MED or
//!   prepend, or active/active via multipath.
//! * Graceful restart helper mode ([`Rib::peer_down_graceful`], [`Rib::end_of_rib`],
//!   [`Rib::restart_timer_expired`]).
//!
//! # Performance
//!
//! `cargo bench -p bgp-rib --bench rib` on the project's 2-core machine, over the
//! shared deterministic table of `bench/tablegen` (1,000,000 IPv4 prefixes, 150,000 attribute
//! sets, DFZ-like lengths, 2–6 hop 4-octet AS paths behind the peer's AS, communities on 40 %)
//! fed as 148,226 decoded UPDATEs:
//!
//! | what | target | measured |
//! |---|---|---|
//! | insert 1M prefixes, one peer, with best path | ≥ 5 M/s | 4.9–5.7 M/s (criterion medians 174–205 ms in a busy hour, eight of nine under 200 ms); 6.2–7.4 M/s by least wall time of 8 runs |
//! | the same prefixes into a bare `PrefixMap<Ipv4Net, u32>` (`trie_floor`, for comparison) | — | 3.5–6.4 M/s |
//! | memory, Adj-RIB-In + Loc-RIB, one peer | ≤ 100 B/prefix | 53.7 B/prefix |
//! | memory, same table from 10 peers | ≤ 2.5× | 133.9 B/prefix, 2.496× |
//! | full-table export to an update group, the group's next pass | ≥ 1 GB/s | 1.11–1.14 GB/s, 12.4–12.6 ms (14.1 MB in 148k UPDATEs) |
//! | the same, the group's first pass | — | 68–133 ms |
//! | kept by an update group between passes, full table | — | 16.1 MB |
//! | `peer_down` of the full-table peer | — | 32–44 ms |
//! | after `peer_down` of the full table | near start | 6.4 KB still allocated |
//!
//! (Ranges: the machine is shared and runs vary by ±25 %; in the hour of the insert's
//! criterion figures the previous build, with hashbrown as the index, took 245–300 ms in
//! the same rounds.)
//! Memory is counted by a counting global allocator ([`cap`](https://docs.rs/cap)) around
//! loading the table; it is requested bytes, without malloc's own overhead. Of the
//! 53.7 B/prefix, 36.9 B are the table: the 20-octet rows (prefix; the best path inline;
//! one bit per update group for the first 32 groups' record of what they were sent) and
//! the hash index (one 8-octet word an entry, at a load between 31 and 63 %); about 17 B
//! are the interned attribute sets. Each further peer's path costs its 8 octets in a list
//! pool (80.3 B/prefix for nine more peers, which is why the 10-peer ratio sits just under
//! 2.5×: it can only shrink by making one peer's table bigger or paths smaller).
//!
//! Why a hash index and not a trie: the RIB only ever looks prefixes up exactly, and a
//! peer sends a full table packed by attribute set, so consecutive prefixes are far apart.
//! prefix-trie 0.10 takes 140–190 ns per lookup or insert of such a table (a cache miss per
//! level), which alone used most of the insert's 200 ns budget, and its nodes took 42 of
//! the then 78 B/prefix. The hash index misses about once, and import and withdrawal load
//! the index words (and rows) of the next 16 prefixes before looking them up, so those
//! misses overlap. Listings in prefix order sort
//! the rows (36–44 ns per prefix for a full table, where walking the trie took 85); no
//! longest-prefix query is needed.
//!
//! A full export reads the rows in order. Its first pass for a group makes each attribute
//! set's builder once, straight from the set's canonical bytes into
//! [`bgp_wire::UpdateBuilder::announce_encoded`]; the group keeps the decision per set and
//! the builders, packed ([`bgp_wire::PackedBuilders`]), so that its later passes (a peer
//! joining the group, a route refresh) only walk the rows and write UPDATEs: each prefix
//! goes straight into its set's run in wire form ([`bgp_wire::NlriBuf`]), and each run is
//! cut into messages as the walk ends it, about 12 ns per prefix in all. The incremental
//! export ([`Rib::export_changes_to`]) is what a daemon runs all the time: one
//! lookup per changed prefix for all groups, attributes encoded once per set for groups of
//! the same shape, and a group's bytes shared by all its members.
//! `docs/PERFORMANCE.md` in the repository has the measurements and profiles.

#![forbid(unsafe_code)]

mod attrs;
pub mod best;
pub mod export;
mod index;
mod local;
mod peer;
pub mod policy;
mod rib;
mod table;
mod tunnel;

pub use attrs::{AsPathIter, AttrId, NextHopAddr, PathAttrs};
pub use best::{LostAt, PathStatus};
pub use export::{ExportBatch, GroupId, may_advertise};
pub use local::{LocalRoute, OriginCondition};
pub use peer::{MaxPrefix, MaxPrefixAction, PeerConfig, PeerId, PeerKind};
pub use policy::Policy;
pub use rib::{
    AllReachable, BestCounts, Change, ChangeKind, NextHopResolver, Rib, RibConfig, RibError, Route,
    UpdateOutcome,
};
pub use tunnel::{StandbyExport, TunnelMode, TunnelPair};
