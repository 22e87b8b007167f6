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
//! * One [`prefix_trie::PrefixMap`] per family (IPv4 and IPv6 unicast). Each prefix holds
//!   the paths received from every peer (ADD-PATH aware: a path is identified by peer
//!   and path identifier), after import processing, ordered best first; the best path and
//!   the multipath members at the front are the Loc-RIB. A path is 8 octets (attribute
//!   set index, source, status); a prefix with one path allocates nothing beyond the
//!   trie's value slot.
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

#![forbid(unsafe_code)]

mod attrs;
pub mod best;
pub mod export;
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
    AllReachable, Change, ChangeKind, NextHopResolver, Rib, RibConfig, RibError, Route,
    UpdateOutcome,
};
pub use tunnel::{StandbyExport, TunnelMode, TunnelPair};
