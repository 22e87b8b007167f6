//! Cloud provider profiles: the defaults ("I" rows) of cloud-vpn-rules.md §1 and §4.
//!
//! The checks themselves live in `check.rs`; a profile only holds numbers so that
//! `check` and `resolve` agree on them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

use super::schema::{Mode, Provider, Side};

/// What a provider implies when the file does not say.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Profile {
    /// The provider.
    pub provider: Provider,
    /// The cloud gateway's default ASN (ASN-AWS-5 64512, ASN-AZ-5 65515, ASN-ALI-2 45104).
    pub default_cloud_asn: Option<u32>,
    /// (keepalive, hold) the provider uses (TMR-AWS-1 10/30, TMR-AZ-1 60/180,
    /// TMR-GCP-1 20/60); `None`: `global.keepalive`/`global.hold_time`.
    pub timers: Option<(u16, u16)>,
    /// Most prefixes the cloud accepts from the customer (LIM-*), with its rule ID and
    /// whether the quota can be raised (Alibaba's by ticket).
    pub export_cap: Option<(u32, &'static str, bool)>,
    /// Most prefixes the cloud advertises (LIM-AWS-3): the import cap, action warn.
    pub import_cap: Option<u32>,
    /// Default connection mode (PREF-ALI-1: Alibaba is active-standby; the others are
    /// active-active: AWS lets MED decide, Azure and GCP use both tunnels).
    pub default_mode: Mode,
    /// Default graceful restart (GR-GCP).
    pub graceful_restart: bool,
    /// Host offsets inside a /30 (or /126): (cloud, customer).
    pub hosts: (u8, u8),
}

/// AWS and Alibaba reserved inside CIDRs (ADDR-AWS-2, ADDR-ALI-2 without 169.254.6.0/30).
pub const AWS_RESERVED: [Ipv4Net; 7] = [
    v4net(169, 254, 0, 0, 30),
    v4net(169, 254, 1, 0, 30),
    v4net(169, 254, 2, 0, 30),
    v4net(169, 254, 3, 0, 30),
    v4net(169, 254, 4, 0, 30),
    v4net(169, 254, 5, 0, 30),
    v4net(169, 254, 169, 252, 30),
];

/// The block Alibaba reserves on top of AWS's list (ADDR-ALI-2).
pub const ALIBABA_EXTRA_RESERVED: Ipv4Net = v4net(169, 254, 6, 0, 30);

/// IPv4 link-local, where every provider's inside CIDRs live.
pub const LINK_LOCAL_V4: Ipv4Net = v4net(169, 254, 0, 0, 16);

/// Azure's custom APIPA range, 169.254.21.0–169.254.22.255 (ADDR-AZ-1).
pub const AZURE_APIPA: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(169, 254, 21, 0),
    Ipv4Addr::new(169, 254, 22, 255),
);

/// fd00::/8, where AWS transit-gateway IPv6 inside CIDRs live (ADDR-AWS-6).
pub const AWS_V6_INSIDE: (Ipv6Addr, u8) = (Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0), 8);

/// fdff:1::/64, where GCP IPv6 BGP addresses live (ADDR-GCP-3).
pub const GCP_V6_INSIDE: (Ipv6Addr, u8) = (Ipv6Addr::new(0xfdff, 1, 0, 0, 0, 0, 0, 0), 64);

const fn v4net(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), len) {
        Ok(n) => n,
        Err(_) => Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0),
    }
}

impl Provider {
    /// The profile of this provider.
    pub fn profile(self) -> Profile {
        let base = Profile {
            provider: self,
            default_cloud_asn: None,
            timers: None,
            export_cap: None,
            import_cap: None,
            default_mode: Mode::ActiveActive,
            graceful_restart: false,
            hosts: (2, 1),
        };
        match self {
            Provider::Aws => Profile {
                default_cloud_asn: Some(64512),
                timers: Some((10, 30)),
                export_cap: Some((100, "LIM-AWS-1", false)),
                import_cap: Some(1000),
                hosts: (1, 2),
                ..base
            },
            Provider::AwsTgw => Profile {
                default_cloud_asn: Some(64512),
                timers: Some((10, 30)),
                export_cap: Some((1000, "LIM-AWS-2", false)),
                import_cap: Some(5000),
                hosts: (1, 2),
                ..base
            },
            // ADDR-AZ-4: in the Azure<->AWS layout Azure takes the second address.
            Provider::Azure => Profile {
                default_cloud_asn: Some(65515),
                timers: Some((60, 180)),
                export_cap: Some((4000, "LIM-AZ-1", false)),
                hosts: (2, 1),
                ..base
            },
            // ALI-API-CN: LocalBgpIp (Alibaba) .2, PeerBgpIp .1. No fixed rule (ADDR-ALI-4).
            Provider::Alibaba => Profile {
                default_cloud_asn: Some(45104),
                export_cap: Some((50, "LIM-ALI-1", true)),
                default_mode: Mode::ActiveStandby,
                hosts: (2, 1),
                ..base
            },
            // GCP-API example: Cloud Router 169.254.0.1/30.
            Provider::Gcp => Profile {
                timers: Some((20, 60)),
                export_cap: Some((5000, "LIM-GCP-1", false)),
                graceful_restart: true,
                hosts: (1, 2),
                ..base
            },
            // Generic: the customer (us, by default) takes the first host.
            Provider::Generic => base,
        }
    }
}

impl Profile {
    /// Default (local, peer) addresses of a tunnel when we play `side`: the profile's host
    /// positions in a /30 or /126 and larger subnets; the two addresses of a /31 or /127.
    pub fn default_addresses(&self, cidr: IpNet, side: Side) -> (Option<IpAddr>, Option<IpAddr>) {
        let (cloud, customer) = if cidr.max_prefix_len() - cidr.prefix_len() <= 1 {
            // A point-to-point /31 or /127 (RFC 3021): both addresses are hosts.
            if self.hosts.0 < self.hosts.1 {
                (0, 1)
            } else {
                (1, 0)
            }
        } else {
            (self.hosts.0, self.hosts.1)
        };
        let (local, peer) = match side {
            Side::Customer => (customer, cloud),
            Side::Cloud => (cloud, customer),
        };
        (host(cidr, local), host(cidr, peer))
    }
}

/// The address at `offset` inside `net`, if it fits.
pub fn host(net: IpNet, offset: u8) -> Option<IpAddr> {
    let size_bits = net.max_prefix_len() - net.prefix_len();
    if size_bits < 8 && u32::from(offset) >= (1u32 << size_bits) {
        return None;
    }
    match net.trunc() {
        IpNet::V4(n) => u32::from(n.network())
            .checked_add(u32::from(offset))
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        IpNet::V6(n) => u128::from(n.network())
            .checked_add(u128::from(offset))
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn a(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn positions() {
        let aws = Provider::Aws.profile();
        assert_eq!(
            aws.default_addresses(n("169.254.10.0/30"), Side::Customer),
            (a("169.254.10.2"), a("169.254.10.1"))
        );
        assert_eq!(
            aws.default_addresses(n("169.254.10.0/30"), Side::Cloud),
            (a("169.254.10.1"), a("169.254.10.2"))
        );
        let az = Provider::Azure.profile();
        assert_eq!(
            az.default_addresses(n("169.254.21.4/30"), Side::Customer),
            (a("169.254.21.5"), a("169.254.21.6"))
        );
        let generic = Provider::Generic.profile();
        assert_eq!(
            generic.default_addresses(n("10.0.0.0/31"), Side::Customer),
            (a("10.0.0.0"), a("10.0.0.1"))
        );
        assert_eq!(
            Provider::AwsTgw
                .profile()
                .default_addresses(n("fd00:1::/126"), Side::Customer),
            (a("fd00:1::2"), a("fd00:1::1"))
        );
        assert_eq!(AWS_RESERVED[6].to_string(), "169.254.169.252/30");
    }
}
