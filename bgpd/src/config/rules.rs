//! Every rule ID `check` can emit, with a one-line summary. docs/CONFIG.md documents each
//! (a test keeps the two in step).

/// (rule ID, summary). Provider IDs are those of shared/reference/cloud-vpn-rules.md;
/// `CFG-*` are syntax/schema rules and `GEN-*` generic BGP sanity rules of our own.
pub const ALL: &[(&str, &str)] = &[
    // Syntax and schema.
    ("CFG-IO", "the file cannot be read"),
    ("CFG-SYNTAX", "TOML syntax error"),
    ("CFG-UNKNOWN-FIELD", "a field the schema does not have"),
    (
        "CFG-UNKNOWN-VALUE",
        "a value outside the field's enumeration",
    ),
    ("CFG-MISSING-FIELD", "a required field is absent"),
    ("CFG-TYPE", "a value of the wrong type or form"),
    (
        "CFG-ASN",
        "an AS number that is neither an integer nor asdot a.b",
    ),
    // Generic rules.
    ("GEN-ROUTER-ID", "global.router_id missing or 0.0.0.0"),
    (
        "GEN-ASN-RESERVED",
        "AS 0, 23456 (AS_TRANS), 65535 or 4294967295 used",
    ),
    (
        "GEN-ASN-LOCAL",
        "a connection's local ASN differs from global.asn",
    ),
    ("GEN-ASN-PEER", "local == peer ASN on a generic connection"),
    ("GEN-ASN-MISSING", "no peer ASN and no profile default"),
    (
        "GEN-PEER-ADDRESS",
        "a neighbour address that is unspecified or multicast",
    ),
    ("GEN-PEER-DUP", "two sessions to the same peer address"),
    (
        "GEN-POLICY-UNKNOWN",
        "an import/export policy name that is not defined",
    ),
    ("GEN-POLICY-TERM", "a policy term that cannot work"),
    (
        "GEN-PREFIX",
        "an invalid prefix or prefix-list entry (host bits, ge/le)",
    ),
    ("GEN-COMMUNITY", "an invalid community"),
    ("GEN-NETWORK-DUP", "the same prefix originated twice"),
    ("GEN-TIMER-HOLD", "hold time 1 or 2 (RFC 4271 §4.2)"),
    (
        "GEN-TIMER-KEEPALIVE",
        "keepalive not below the hold time, or above a third of it",
    ),
    ("GEN-MAX-PATHS", "global.max_paths is 0"),
    ("GEN-THREADS", "global.threads is 0"),
    ("GEN-PORT", "port 0"),
    ("GEN-LISTEN", "passive sessions but nothing to listen on"),
    ("GEN-MD5", "TCP-MD5 key empty or longer than 80 bytes"),
    ("GEN-TTL", "ttl_security outside 1..=254"),
    (
        "GEN-INTERFACE",
        "interface name empty, too long or malformed",
    ),
    ("GEN-RR", "route-reflector settings that cannot apply"),
    (
        "GEN-LOCAL-ADDRESS",
        "local address of another family than the peer",
    ),
    ("GEN-FAMILY", "empty or duplicated families"),
    (
        "GEN-MAX-PREFIXES",
        "max_prefixes/export_limit/idle_hold inconsistent",
    ),
    ("GEN-GR", "graceful-restart settings out of range"),
    (
        "GEN-TUN-PREFIX",
        "generic inside CIDR not a point-to-point subnet",
    ),
    (
        "GEN-TUN-RESERVED",
        "generic inside CIDR inside a block AWS or Alibaba reserve",
    ),
    ("GEN-TUN-DUP", "two tunnels with overlapping inside CIDRs"),
    ("GEN-TUN-NONE", "a connection without tunnels"),
    ("GEN-PAIR", "active-standby roles that cannot work"),
    (
        "GEN-EXPORT-LIMIT",
        "an explicit peer's export_limit below what is originated",
    ),
    ("GEN-BFD", "bfd set where the daemon cannot run it"),
    (
        "GEN-REMOTE-OVERLAP",
        "an advertised prefix overlaps the other end's networks",
    ),
    // cloud-vpn-rules.md §1.1.
    (
        "ADDR-AWS-1",
        "AWS inside CIDR is a /30 inside 169.254.0.0/16",
    ),
    ("ADDR-AWS-2", "AWS reserved inside CIDRs"),
    (
        "ADDR-AWS-3",
        "AWS inside CIDR unique on a virtual private gateway",
    ),
    ("ADDR-AWS-4", "AWS TGW inside CIDR unique on one host"),
    ("ADDR-AWS-5", "AWS takes .1, the customer .2"),
    (
        "ADDR-AWS-6",
        "AWS IPv6 inside CIDR: TGW only, /126 in fd00::/8, one family per connection",
    ),
    (
        "ADDR-AZ-1",
        "Azure APIPA inside 169.254.21.0-169.254.22.255",
    ),
    ("ADDR-AZ-2", "Azure APIPA addresses unique"),
    (
        "ADDR-AZ-3",
        "Azure: several tunnels need an active-active gateway",
    ),
    ("ADDR-AZ-4", "Azure<->AWS layout: AWS .1, Azure .2"),
    ("ADDR-AZ-5", "Azure: on-prem BGP IP not inside the VNet"),
    (
        "ADDR-ALI-1",
        "Alibaba tunnel CIDR is a /30 inside 169.254.0.0/16",
    ),
    (
        "ADDR-ALI-2",
        "Alibaba reserved tunnel CIDRs (AWS's list plus 169.254.6.0/30)",
    ),
    (
        "ADDR-ALI-3",
        "Alibaba tunnel CIDRs unique; the two tunnels differ",
    ),
    ("ADDR-ALI-4", "Alibaba BGP IPs inside the tunnel CIDR"),
    ("ADDR-GCP-1", "GCP IPv4 BGP addresses inside 169.254.0.0/16"),
    (
        "ADDR-GCP-3",
        "GCP IPv6 BGP addresses inside fdff:1::/64, /126 or shorter",
    ),
    (
        "ADDR-GEN-1",
        "both addresses in the subnet, distinct, not network/broadcast",
    ),
    // §1.2.
    (
        "ASN-AWS-2",
        "AWS reserved customer-gateway ASNs (7224; 9059/10124/17943/17493 regional)",
    ),
    (
        "ASN-AWS-4",
        "customer ASN 64512 equals the Amazon-side default",
    ),
    ("ASN-AWS-5", "Amazon-side ASN must be private"),
    (
        "ASN-AWS-6",
        "AWS: local ASN differs from the Amazon-side ASN",
    ),
    ("ASN-AWS-7", "AWS: same local ASN on all tunnels"),
    ("ASN-AZ-1", "ASNs Azure reserves"),
    ("ASN-AZ-2", "ASNs IANA reserves (per the Azure FAQ)"),
    ("ASN-AZ-6", "Azure: local ASN differs from Azure's"),
    ("ASN-ALI-1", "Alibaba reserves 45104 for itself"),
    (
        "ASN-ALI-3",
        "Alibaba: same local ASN on both tunnels; peer ASNs should match",
    ),
    (
        "ASN-GCP-1",
        "Cloud Router ASN private; 16550 is for Partner Interconnect",
    ),
    ("ASN-GCP-2", "one ASN per Cloud Router"),
    (
        "ASN-GCP-3",
        "GCP: local ASN differs from the Cloud Router's",
    ),
    // §1.3.
    ("TMR-AZ-1", "Azure timers fixed at keepalive 60 / hold 180"),
    ("TMR-GCP-1", "GCP keepalive 20-60, hold = 3 x keepalive"),
    ("BFD-AZ", "no BFD on Azure S2S VPN"),
    ("BFD-GCP", "no BFD on GCP HA VPN"),
    // §1.4.
    (
        "LIM-AWS-1",
        "at most 100 prefixes to an AWS virtual private gateway",
    ),
    (
        "LIM-AWS-2",
        "at most 1000 prefixes to an AWS transit gateway",
    ),
    ("LIM-AZ-1", "at most 4000 prefixes to Azure"),
    (
        "LIM-AZ-2",
        "a prefix identical to a VNet prefix is rejected by Azure",
    ),
    ("LIM-GCP-1", "at most 5000 prefixes to a Cloud Router"),
    (
        "LIM-ALI-1",
        "at most 50 prefixes to an Alibaba VPN gateway (quota)",
    ),
    (
        "LIM-ALI-2",
        "never advertise 100.64.0.0/10 (or a block in or around it) to Alibaba",
    ),
    // §1.5.
    ("PREF-AWS-3", "keep local-pref equal on AWS VGW tunnels"),
    (
        "PREF-ALI-1",
        "Alibaba: tunnel 1 active, tunnel 2 standby, fixed",
    ),
    ("INIT-AWS-1", "the customer gateway initiates towards AWS"),
    (
        "INIT-AZ-1",
        "Azure does not initiate BGP from APIPA: the on-prem side must",
    ),
];

/// The static ID for `id`, or `CFG-TYPE` for an unknown one.
pub(crate) fn intern(id: &str) -> &'static str {
    ALL.iter()
        .find(|(r, _)| *r == id)
        .map_or("CFG-TYPE", |(r, _)| r)
}
