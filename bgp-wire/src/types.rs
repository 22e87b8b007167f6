//! Registry values (IANA) as open newtypes with named constants.
//!
//! Unknown values are carried, never rejected: a newer peer may send a code point this crate
//! was not written for, and forwarding or logging it faithfully beats refusing the session.

use core::fmt;

macro_rules! open_newtype {
    (
        $(#[$meta:meta])*
        $name:ident($inner:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr, $label:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl $name {
            $( $(#[$cmeta])* pub const $const: $name = $name($value); )*

            /// The registry name of this value, if this crate knows it.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$const => Some($label), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                $name(v)
            }
        }
    };
}

open_newtype! {
    /// BGP message type (RFC 4271 §4.1, RFC 2918).
    MessageType(u8) {
        /// OPEN (RFC 4271 §4.2).
        OPEN = 1, "OPEN";
        /// UPDATE (RFC 4271 §4.3).
        UPDATE = 2, "UPDATE";
        /// NOTIFICATION (RFC 4271 §4.5).
        NOTIFICATION = 3, "NOTIFICATION";
        /// KEEPALIVE (RFC 4271 §4.4).
        KEEPALIVE = 4, "KEEPALIVE";
        /// ROUTE-REFRESH (RFC 2918, RFC 7313).
        ROUTE_REFRESH = 5, "ROUTE-REFRESH";
    }
}

open_newtype! {
    /// Address Family Identifier (RFC 4760).
    Afi(u16) {
        /// IPv4.
        IPV4 = 1, "IPv4";
        /// IPv6.
        IPV6 = 2, "IPv6";
        /// L2VPN.
        L2VPN = 25, "L2VPN";
        /// BGP-LS.
        BGP_LS = 16388, "BGP-LS";
    }
}

open_newtype! {
    /// Subsequent Address Family Identifier (RFC 4760).
    Safi(u8) {
        /// Unicast forwarding.
        UNICAST = 1, "unicast";
        /// Multicast forwarding.
        MULTICAST = 2, "multicast";
        /// Labeled unicast (RFC 8277).
        MPLS_LABEL = 4, "labeled-unicast";
        /// EVPN (RFC 7432).
        EVPN = 70, "evpn";
        /// MPLS-labeled VPN (RFC 4364).
        MPLS_VPN = 128, "vpn";
        /// Flow specification (RFC 8955).
        FLOWSPEC = 133, "flowspec";
    }
}

open_newtype! {
    /// Path attribute type code (RFC 4271 §5 and the IANA registry).
    AttrType(u8) {
        /// ORIGIN (RFC 4271 §5.1.1).
        ORIGIN = 1, "ORIGIN";
        /// AS_PATH (RFC 4271 §5.1.2).
        AS_PATH = 2, "AS_PATH";
        /// NEXT_HOP (RFC 4271 §5.1.3).
        NEXT_HOP = 3, "NEXT_HOP";
        /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
        MULTI_EXIT_DISC = 4, "MULTI_EXIT_DISC";
        /// LOCAL_PREF (RFC 4271 §5.1.5).
        LOCAL_PREF = 5, "LOCAL_PREF";
        /// ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
        ATOMIC_AGGREGATE = 6, "ATOMIC_AGGREGATE";
        /// AGGREGATOR (RFC 4271 §5.1.7).
        AGGREGATOR = 7, "AGGREGATOR";
        /// COMMUNITIES (RFC 1997).
        COMMUNITIES = 8, "COMMUNITIES";
        /// ORIGINATOR_ID (RFC 4456).
        ORIGINATOR_ID = 9, "ORIGINATOR_ID";
        /// CLUSTER_LIST (RFC 4456).
        CLUSTER_LIST = 10, "CLUSTER_LIST";
        /// MP_REACH_NLRI (RFC 4760).
        MP_REACH_NLRI = 14, "MP_REACH_NLRI";
        /// MP_UNREACH_NLRI (RFC 4760).
        MP_UNREACH_NLRI = 15, "MP_UNREACH_NLRI";
        /// EXTENDED_COMMUNITIES (RFC 4360).
        EXTENDED_COMMUNITIES = 16, "EXTENDED_COMMUNITIES";
        /// AS4_PATH (RFC 6793).
        AS4_PATH = 17, "AS4_PATH";
        /// AS4_AGGREGATOR (RFC 6793).
        AS4_AGGREGATOR = 18, "AS4_AGGREGATOR";
        /// IPv6 Address Specific Extended Community (RFC 5701).
        IPV6_EXTENDED_COMMUNITIES = 25, "IPV6_EXTENDED_COMMUNITIES";
        /// AIGP (RFC 7311).
        AIGP = 26, "AIGP";
        /// LARGE_COMMUNITY (RFC 8092).
        LARGE_COMMUNITIES = 32, "LARGE_COMMUNITY";
        /// Only to Customer (RFC 9234).
        OTC = 35, "OTC";
    }
}

open_newtype! {
    /// Capability code (RFC 5492 and the IANA registry).
    CapabilityCode(u8) {
        /// Multiprotocol Extensions (RFC 4760).
        MULTIPROTOCOL = 1, "multiprotocol";
        /// Route Refresh (RFC 2918).
        ROUTE_REFRESH = 2, "route-refresh";
        /// Extended Next Hop Encoding (RFC 8950).
        EXTENDED_NEXT_HOP = 5, "extended-next-hop";
        /// Extended Message (RFC 8654).
        EXTENDED_MESSAGE = 6, "extended-message";
        /// BGP Role (RFC 9234).
        ROLE = 9, "role";
        /// Graceful Restart (RFC 4724).
        GRACEFUL_RESTART = 64, "graceful-restart";
        /// Support for 4-octet AS numbers (RFC 6793).
        FOUR_OCTET_AS = 65, "4-octet-as";
        /// ADD-PATH (RFC 7911).
        ADD_PATH = 69, "add-path";
        /// Enhanced Route Refresh (RFC 7313).
        ENHANCED_ROUTE_REFRESH = 70, "enhanced-route-refresh";
        /// Long-Lived Graceful Restart (RFC 9494).
        LONG_LIVED_GRACEFUL_RESTART = 71, "long-lived-graceful-restart";
        /// FQDN (draft-walton-bgp-hostname-capability).
        FQDN = 73, "fqdn";
    }
}

/// An address family as the pair the wire carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);
    /// IPv4 multicast.
    pub const IPV4_MULTICAST: Family = Family::new(Afi::IPV4, Safi::MULTICAST);
    /// IPv6 multicast.
    pub const IPV6_MULTICAST: Family = Family::new(Afi::IPV6, Safi::MULTICAST);

    /// Builds a family from its two codes.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Family { afi, safi }
    }

    /// Whether this crate decodes this family's NLRI into prefixes (IPv4/IPv6 unicast and
    /// multicast). NLRI of other families is carried as raw bytes.
    pub fn is_ip(self) -> bool {
        matches!(self.afi, Afi::IPV4 | Afi::IPV6)
            && matches!(self.safi, Safi::UNICAST | Safi::MULTICAST)
    }

    /// Bit used by [`FamilySet`], for the IP families only.
    const fn bit(self) -> u8 {
        match (self.afi.0, self.safi.0) {
            (1, 1) => 1,
            (2, 1) => 2,
            (1, 2) => 4,
            (2, 2) => 8,
            _ => 0,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.afi.name(), self.safi.name()) {
            (Some(a), Some(s)) => write!(f, "{a} {s}"),
            _ => write!(f, "afi {} safi {}", self.afi.0, self.safi.0),
        }
    }
}

/// A set of the IP families (IPv4/IPv6 × unicast/multicast), stored as a bitmask so that
/// session parameters stay `Copy` and a per-message lookup is one AND.
///
/// Only IP families can be members: they are the only ones whose NLRI this crate parses, so
/// they are the only ones for which per-family options such as ADD-PATH change decoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FamilySet(u8);

impl FamilySet {
    /// The empty set.
    pub const EMPTY: FamilySet = FamilySet(0);

    /// Adds `family`; returns false if it is not an IP family and so cannot be a member.
    pub fn insert(&mut self, family: Family) -> bool {
        let bit = family.bit();
        self.0 |= bit;
        bit != 0
    }

    /// Removes `family`.
    pub fn remove(&mut self, family: Family) {
        self.0 &= !family.bit();
    }

    /// Whether `family` is a member.
    pub fn contains(self, family: Family) -> bool {
        self.0 & family.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        [
            Family::IPV4_UNICAST,
            Family::IPV6_UNICAST,
            Family::IPV4_MULTICAST,
            Family::IPV6_MULTICAST,
        ]
        .into_iter()
        .filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Family> for FamilySet {
    fn from_iter<T: IntoIterator<Item = Family>>(iter: T) -> Self {
        let mut set = FamilySet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl fmt::Debug for FamilySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The reserved 2-octet stand-in for a 4-octet AS number (RFC 6793 §9).
pub const AS_TRANS: u32 = 23456;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_carried_and_named_values_print() {
        assert_eq!(AttrType(99).name(), None);
        assert_eq!(format!("{:?}", AttrType(99)), "AttrType(99)");
        assert_eq!(format!("{}", AttrType::AS_PATH), "AS_PATH");
        assert_eq!(format!("{}", Family::IPV6_UNICAST), "IPv6 unicast");
        assert_eq!(format!("{}", Family::new(Afi(3), Safi(9))), "afi 3 safi 9");
    }

    #[test]
    fn family_set_holds_only_ip_families() {
        let mut s = FamilySet::EMPTY;
        assert!(s.insert(Family::IPV6_UNICAST));
        assert!(!s.insert(Family::new(Afi::L2VPN, Safi::EVPN)));
        assert!(s.contains(Family::IPV6_UNICAST));
        assert!(!s.contains(Family::IPV4_UNICAST));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Family::IPV6_UNICAST]);
        s.remove(Family::IPV6_UNICAST);
        assert!(s.is_empty());
    }
}
