//! The FIB's pure parts: which next hops a best route asks for, and which peers a set of
//! links leaves up. Unit-tested without netlink.

use super::kernel::Link;
use crate::speaker::{BestRoute, RouteEntry};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A peer and what ties it to a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The peer.
    pub peer: IpAddr,
    /// Its tunnel interface, when configured.
    pub interface: Option<String>,
    /// Our address on the session, when configured.
    pub local_address: Option<IpAddr>,
}

/// Whether a peer's link is usable, and a description for logs and the shutdown message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkVerdict {
    /// Usable.
    pub up: bool,
    /// E.g. `vti1 down`, `169.254.10.1 gone from vti1`.
    pub why: String,
}

/// Remembers the interface each peer's local address was last seen on, so a peer without
/// a configured `interface` is still bound to the link its address lives on.
#[derive(Clone, Debug, Default)]
pub struct LinkTracker {
    seen_on: BTreeMap<IpAddr, u32>,
}

impl LinkTracker {
    /// The verdict for every peer bound to a link. A peer with neither an interface nor a
    /// local address ever seen on one is not watched (e.g. a multihop peer, or a test
    /// peer on a loopback alias the kernel does not list).
    pub fn evaluate(
        &mut self,
        bindings: &[Binding],
        links: &BTreeMap<u32, Link>,
    ) -> BTreeMap<IpAddr, LinkVerdict> {
        let mut out = BTreeMap::new();
        for b in bindings {
            let verdict = match (&b.interface, b.local_address) {
                (Some(name), local) => Some(match links.iter().find(|(_, l)| &l.name == name) {
                    None => down(format!("{name} missing")),
                    Some((_, l)) if !l.up => down(format!("{name} down")),
                    Some((_, l)) => match local {
                        Some(a) if !l.addresses.contains(&a) => {
                            down(format!("{a} gone from {name}"))
                        }
                        _ => up(format!("{name} up")),
                    },
                }),
                (None, Some(a)) => {
                    if let Some((i, _)) = links.iter().find(|(_, l)| l.addresses.contains(&a)) {
                        self.seen_on.insert(b.peer, *i);
                    }
                    self.seen_on.get(&b.peer).map(|i| match links.get(i) {
                        None => down(format!("interface of {a} removed")),
                        Some(l) if !l.addresses.contains(&a) => {
                            down(format!("{a} gone from {}", l.name))
                        }
                        Some(l) if !l.up => down(format!("{} down", l.name)),
                        Some(l) => up(format!("{} up", l.name)),
                    })
                }
                (None, None) => None,
            };
            if let Some(v) = verdict {
                out.insert(b.peer, v);
            }
        }
        out
    }
}

fn up(why: String) -> LinkVerdict {
    LinkVerdict { up: true, why }
}

fn down(why: String) -> LinkVerdict {
    LinkVerdict { up: false, why }
}

/// The next hops to install for a best route: none when the prefix is gone or originated
/// here (a local route has nothing to forward to).
pub fn next_hops(best: Option<&BestRoute>) -> Vec<IpAddr> {
    match best {
        Some(b) if !b.local => b.next_hops.iter().map(|n| n.address).collect(),
        _ => Vec::new(),
    }
}

/// The routes to install according to a Loc-RIB snapshot: best and multipath paths that
/// came from a peer.
pub fn wanted_from_snapshot(entries: &[RouteEntry]) -> BTreeMap<IpNet, Vec<IpAddr>> {
    let mut out = BTreeMap::new();
    for e in entries {
        let hops: Vec<IpAddr> = e
            .paths
            .iter()
            .filter(|p| (p.status == "best" || p.status == "multipath") && p.from != "local")
            .filter_map(|p| p.next_hop)
            .collect();
        if !hops.is_empty() {
            out.insert(e.prefix, hops);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speaker::{NextHopEntry, PathEntry};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn link(name: &str, up: bool, addrs: &[&str]) -> Link {
        Link {
            name: name.into(),
            up,
            loopback: false,
            addresses: addrs.iter().map(|a| ip(a)).collect(),
        }
    }

    #[test]
    fn interface_binding_follows_link_and_address() {
        let b = vec![Binding {
            peer: ip("169.254.10.2"),
            interface: Some("tun1".into()),
            local_address: Some(ip("169.254.10.1")),
        }];
        let mut t = LinkTracker::default();
        let mut links = BTreeMap::from([(3, link("tun1", true, &["169.254.10.1"]))]);
        assert!(t.evaluate(&b, &links)[&ip("169.254.10.2")].up);
        links.get_mut(&3).unwrap().up = false;
        let v = &t.evaluate(&b, &links)[&ip("169.254.10.2")];
        assert!(!v.up);
        assert_eq!(v.why, "tun1 down");
        links.get_mut(&3).unwrap().up = true;
        links.get_mut(&3).unwrap().addresses.clear();
        let v = &t.evaluate(&b, &links)[&ip("169.254.10.2")];
        assert_eq!(v.why, "169.254.10.1 gone from tun1");
        links.clear();
        assert!(!t.evaluate(&b, &links)[&ip("169.254.10.2")].up);
    }

    #[test]
    fn local_address_binding_remembers_the_interface() {
        let b = vec![
            Binding {
                peer: ip("169.254.20.2"),
                interface: None,
                local_address: Some(ip("169.254.20.1")),
            },
            // Never seen on any link: not watched.
            Binding {
                peer: ip("127.0.0.3"),
                interface: None,
                local_address: Some(ip("127.0.0.2")),
            },
            Binding {
                peer: ip("192.0.2.1"),
                interface: None,
                local_address: None,
            },
        ];
        let mut t = LinkTracker::default();
        let mut links = BTreeMap::from([(4, link("eth9", true, &["169.254.20.1"]))]);
        let v = t.evaluate(&b, &links);
        assert_eq!(v.len(), 1);
        assert!(v[&ip("169.254.20.2")].up);
        links.get_mut(&4).unwrap().addresses.clear();
        let v = t.evaluate(&b, &links);
        assert!(!v[&ip("169.254.20.2")].up);
        links
            .get_mut(&4)
            .unwrap()
            .addresses
            .insert(ip("169.254.20.1"));
        links.get_mut(&4).unwrap().up = false;
        assert!(!t.evaluate(&b, &links)[&ip("169.254.20.2")].up);
    }

    #[test]
    fn local_routes_are_not_installed() {
        let nh = NextHopEntry {
            address: ip("169.254.10.2"),
            peer: ip("169.254.10.2"),
        };
        let mut best = BestRoute {
            next_hops: vec![nh],
            as_path: vec![65500],
            local: false,
        };
        assert_eq!(next_hops(Some(&best)), vec![ip("169.254.10.2")]);
        best.local = true;
        assert!(next_hops(Some(&best)).is_empty());
        assert!(next_hops(None).is_empty());
    }

    #[test]
    fn snapshot_keeps_best_and_multipath() {
        let path = |from: &str, nh: Option<&str>, status: &str| PathEntry {
            from: from.into(),
            next_hop: nh.map(ip),
            status: status.into(),
            ..PathEntry::default()
        };
        let entries = vec![
            RouteEntry {
                prefix: "10.2.0.0/16".parse().unwrap(),
                paths: vec![
                    path("169.254.21.1", Some("169.254.21.1"), "best"),
                    path("169.254.22.1", Some("169.254.22.1"), "multipath"),
                    path("169.254.21.5", Some("169.254.21.5"), "local-pref"),
                ],
            },
            RouteEntry {
                prefix: "10.1.0.0/16".parse().unwrap(),
                paths: vec![path("local", None, "best")],
            },
        ];
        let w = wanted_from_snapshot(&entries);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[&"10.2.0.0/16".parse::<IpNet>().unwrap()],
            vec![ip("169.254.21.1"), ip("169.254.22.1")]
        );
    }
}
