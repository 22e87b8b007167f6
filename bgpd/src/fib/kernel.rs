//! The netlink side of the FIB: program, list and delete routes, resolve next hops, read
//! links and addresses. Everything here is a thin wrapper over `rtnetlink`; the decisions
//! (what to install, which peer a link belongs to) are made in the other files of `fib`.

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteType,
};
use rtnetlink::{Handle, RouteMessageBuilder, RouteNextHopBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where our routes go and how they are marked (`[global.fib]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Routing table id.
    pub table: u32,
    /// Route protocol id marking our routes.
    pub protocol: u8,
    /// Route metric (priority).
    pub metric: u32,
}

/// A next hop with the interface the kernel reaches it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelNextHop {
    /// Gateway address.
    pub address: IpAddr,
    /// Output interface index.
    pub interface: u32,
}

/// One route as found in the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination.
    pub prefix: IpNet,
    /// Table id.
    pub table: u32,
    /// Protocol id.
    pub protocol: u8,
    /// Metric.
    pub metric: u32,
}

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Link {
    /// Name.
    pub name: String,
    /// Administratively up and operationally running (carrier).
    pub up: bool,
    /// Loopback.
    pub loopback: bool,
    /// Addresses on it.
    pub addresses: BTreeSet<IpAddr>,
}

/// The kernel's errors as text: netlink failures are logged, never sent to a peer.
pub type Result<T> = std::result::Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The table id of a route message (RTA_TABLE when present: ids above 255 only live there).
fn table_of(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

/// Destination, table, protocol and metric of a route message.
pub fn describe(m: &RouteMessage) -> Option<KernelRoute> {
    let len = m.header.destination_prefix_length;
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => route_addr(d),
        _ => None,
    });
    let dst = match (dst, m.header.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let prefix = IpNet::new(dst, len).ok()?;
    let metric = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    Some(KernelRoute {
        prefix,
        table: table_of(m),
        protocol: u8::from(m.header.protocol),
        metric,
    })
}

fn base(prefix: IpNet, target: Target) -> Result<RouteMessageBuilder<IpAddr>> {
    Ok(RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(prefix.addr(), prefix.prefix_len())
        .map_err(err)?
        .table_id(target.table)
        .protocol(RouteProtocol::from(target.protocol))
        .priority(target.metric))
}

fn family(prefix: &IpNet) -> AddressFamily {
    match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

/// Installs (or replaces) our route for `prefix`; several next hops make a multipath route.
/// `replace` is only used for a route we installed ourselves: a first install is exclusive,
/// so a route of the same metric someone else put there is never overwritten.
pub async fn install(
    handle: &Handle,
    target: Target,
    prefix: IpNet,
    next_hops: &[KernelNextHop],
    replace: bool,
) -> Result<()> {
    let mut b = base(prefix, target)?;
    match next_hops {
        [] => return Err("no next hop".into()),
        [one] => {
            b = b
                .gateway(one.address)
                .map_err(err)?
                .output_interface(one.interface);
        }
        many => {
            let mut hops = Vec::with_capacity(many.len());
            for nh in many {
                hops.push(
                    RouteNextHopBuilder::new(family(&prefix))
                        .interface(nh.interface)
                        .via(nh.address)
                        .map_err(err)?
                        .build(),
                );
            }
            b = b.multipath(hops);
        }
    }
    let mut req = handle.route().add(b.build());
    if replace {
        req = req.replace();
    }
    req.execute().await.map_err(err)
}

/// Deletes our route for `prefix` (matched on table, protocol and metric, so never another
/// source's route). A route already gone (the kernel flushes routes of a downed link) is
/// not an error.
pub async fn remove(handle: &Handle, target: Target, prefix: IpNet) -> Result<()> {
    let msg = base(prefix, target)?.build();
    match handle.route().del(msg).execute().await {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ESRCH => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Every route in the kernel (both families), described.
pub async fn dump_routes(handle: &Handle) -> Result<Vec<KernelRoute>> {
    let mut out = Vec::new();
    let v4 = RouteMessageBuilder::<Ipv4Addr>::new().build();
    let v6 = RouteMessageBuilder::<Ipv6Addr>::new().build();
    for msg in [v4, v6] {
        let mut s = handle.route().get(msg).execute();
        while let Some(m) = s.try_next().await.map_err(err)? {
            if m.header.kind != RouteType::Unicast {
                continue;
            }
            if let Some(r) = describe(&m) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The interface the kernel would use to reach `address`, if it is directly connected and
/// not one of our own addresses (a next hop on loopback is no forwarding next hop: it
/// happens when peers talk over 127.0.0.0/8, as in tests).
pub async fn resolve(handle: &Handle, address: IpAddr) -> Result<Option<u32>> {
    let len = if address.is_ipv4() { 32 } else { 128 };
    let msg = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(address, len)
        .map_err(err)?
        .build();
    let mut s = handle.route().get(msg).execute();
    let Some(m) = s.try_next().await.map_err(err)? else {
        return Ok(None);
    };
    if m.header.kind != RouteType::Unicast {
        return Ok(None);
    }
    Ok(m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    }))
}

/// Every interface with its state and addresses, by index.
pub async fn links(handle: &Handle) -> Result<BTreeMap<u32, Link>> {
    let mut out: BTreeMap<u32, Link> = BTreeMap::new();
    let mut s = handle.link().get().execute();
    while let Some(m) = s.try_next().await.map_err(err)? {
        let name = m
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let f = m.header.flags;
        out.insert(
            m.header.index,
            Link {
                name,
                up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
                loopback: f.contains(LinkFlags::Loopback),
                addresses: BTreeSet::new(),
            },
        );
    }
    let mut s = handle.address().get().execute();
    while let Some(m) = s.try_next().await.map_err(err)? {
        let Some(link) = out.get_mut(&m.header.index) else {
            continue;
        };
        for a in &m.attributes {
            if let AddressAttribute::Address(ip) | AddressAttribute::Local(ip) = a {
                link.addresses.insert(*ip);
            }
        }
    }
    Ok(out)
}
