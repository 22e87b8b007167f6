//! Unit tests for `Config::resolve()` and individual rules, on inline configurations.

use std::net::IpAddr;

use super::schema::{Family, Mode, TunnelRole};
use super::*;

fn ok(text: &str) -> (Config, Report) {
    match check_str(text, "t.toml") {
        Ok(x) => x,
        Err(r) => panic!("refused:\n{}", r.render()),
    }
}

fn rules(text: &str) -> Vec<&'static str> {
    let r = match check_str(text, "t.toml") {
        Ok((_, r)) => r,
        Err(r) => r,
    };
    r.diagnostics().iter().map(|d| d.rule).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const S1: &str = include_str!("../../../examples/s1-alibaba-dual-tunnel.toml");
const S1_GW2: &str = include_str!("../../../examples/s1-alibaba-gw2.toml");
const S2_AWS: &str = include_str!("../../../examples/s2-azure-aws-active-active.toml");
const S2_AZURE: &str = include_str!("../../../examples/s2-azure-side.toml");
const S5: &str = include_str!("../../../examples/s5-ipv6.toml");

#[test]
fn s1_yields_two_peers_with_the_standby_flagged() {
    let (cfg, _) = ok(S1);
    let peers = cfg.resolve();
    assert_eq!(peers.len(), 2);
    let (a, b) = (&peers[0], &peers[1]);
    assert_eq!(a.address, ip("169.254.10.2"));
    assert_eq!(a.local_address, Some(ip("169.254.10.1")));
    assert_eq!(b.address, ip("169.254.20.2"));
    assert_eq!(b.local_address, Some(ip("169.254.20.1")));
    for p in &peers {
        assert_eq!((p.local_asn, p.peer_asn), (65530, 65500));
        assert!(!p.passive);
        assert_eq!(p.export_limit, Some(50), "LIM-ALI-1 cap");
        assert_eq!(
            p.export_prefixes,
            Some(vec!["10.0.0.0/16".parse().unwrap()])
        );
        assert_eq!(p.families, vec![Family::Ipv4Unicast]);
    }
    let ta = a.tunnel.as_ref().unwrap();
    let tb = b.tunnel.as_ref().unwrap();
    assert_eq!(
        (ta.name.as_str(), ta.mode, ta.role),
        ("vpc1-vpc2", Mode::ActiveStandby, TunnelRole::Active)
    );
    assert_eq!((tb.index, tb.role, tb.tunnels), (1, TunnelRole::Standby, 2));
    assert_eq!(a.interface.as_deref(), Some("vti-ali1"));
    assert_eq!(b.name, "vpc1-vpc2/tunnel2");
    assert_eq!(b.field, "connections[0].tunnels[1]");
}

#[test]
fn s1_other_gateway_is_the_mirror_image() {
    let (cfg, _) = ok(S1_GW2);
    let peers = cfg.resolve();
    assert_eq!(peers[0].address, ip("169.254.10.1"));
    assert_eq!(peers[0].local_address, Some(ip("169.254.10.2")));
    assert_eq!(peers[1].address, ip("169.254.20.1"));
    assert_eq!((peers[0].local_asn, peers[0].peer_asn), (65500, 65530));
    assert_eq!(peers[1].tunnel.as_ref().unwrap().role, TunnelRole::Standby);
}

#[test]
fn s2_yields_four_active_peers_with_azure_timers() {
    let (cfg, _) = ok(S2_AWS);
    let peers = cfg.resolve();
    let addrs: Vec<IpAddr> = peers.iter().map(|p| p.address).collect();
    assert_eq!(
        addrs,
        [
            "169.254.21.2",
            "169.254.22.2",
            "169.254.21.6",
            "169.254.22.6"
        ]
        .map(ip)
    );
    for p in &peers {
        assert_eq!((p.local_asn, p.peer_asn), (64512, 65000));
        assert_eq!((p.keepalive, p.hold_time), (60, 180));
        assert!(!p.passive, "INIT-AZ-1: we open the sessions");
        assert_eq!(p.tunnel.as_ref().unwrap().mode, Mode::ActiveActive);
        assert_eq!(p.tunnel.as_ref().unwrap().role, TunnelRole::Active);
        assert_eq!(p.export_limit, Some(4000));
        assert_eq!(p.export_prefixes, None);
    }
    let (azure, _) = ok(S2_AZURE);
    let peers = azure.resolve();
    assert_eq!(peers.len(), 4);
    assert_eq!(peers[2].address, ip("169.254.21.5"));
    assert_eq!(peers[2].local_address, Some(ip("169.254.21.6")));
    assert!(peers.iter().all(|p| p.passive && p.peer_asn == 64512));
}

#[test]
fn s2_as_aws_cloud_side_is_also_accepted() {
    let text = S2_AWS.replace(
        "\nprovider = \"azure\"\n",
        "\nprovider = \"aws\"\nside = \"cloud\"\n",
    );
    let (cfg, _) = ok(&text);
    let peers = cfg.resolve();
    assert_eq!(peers.len(), 4);
    assert_eq!((peers[0].keepalive, peers[0].hold_time), (10, 30));
    assert_eq!(peers[0].local_address, Some(ip("169.254.21.1")));
}

#[test]
fn s5_sessions_carry_both_families() {
    let (cfg, _) = ok(S5);
    let peers = cfg.resolve();
    assert_eq!(peers[1].address, ip("fdff:1::1"));
    assert_eq!(peers[1].local_address, Some(ip("fdff:1::2")));
    assert!(
        peers
            .iter()
            .all(|p| p.families == vec![Family::Ipv4Unicast, Family::Ipv6Unicast])
    );
    assert!(
        peers.iter().all(|p| p.graceful_restart == Some(120)),
        "GR-GCP"
    );
    assert_eq!((peers[0].keepalive, peers[0].hold_time), (20, 60));
    assert_eq!(cfg.local_routes().len(), 2);
}

const BASE: &str = "[global]\nasn = 65001\nrouter_id = \"192.0.2.1\"\n";

#[test]
fn aws_defaults_put_us_on_the_second_host() {
    let (cfg, _) = ok(&format!(
        "{BASE}[[connections]]\nname = \"a\"\nprovider = \"aws\"\n[[connections.tunnels]]\ninside_cidr = \"169.254.44.0/30\"\n"
    ));
    let p = &cfg.resolve()[0];
    assert_eq!(p.address, ip("169.254.44.1"));
    assert_eq!(p.local_address, Some(ip("169.254.44.2")));
    assert_eq!(p.peer_asn, 64512, "ASN-AWS-5 default");
    assert_eq!((p.keepalive, p.hold_time), (10, 30), "TMR-AWS-1");
    assert_eq!(p.max_prefixes.unwrap().limit, 1000, "LIM-AWS-3");
    assert_eq!(p.export_limit, Some(100), "LIM-AWS-1");
}

#[test]
fn explicit_peers_resolve_with_global_defaults() {
    let (cfg, _) = ok(&format!(
        "{BASE}hold_time = 60\n[[peers]]\naddress = \"2001:db8::2\"\nasn = \"1.10\"\nmax_prefixes = 10\nidle_hold = 30\n"
    ));
    let p = &cfg.resolve()[0];
    assert_eq!(p.peer_asn, 65546);
    assert_eq!((p.hold_time, p.keepalive), (60, 20));
    assert_eq!(p.families, vec![Family::Ipv6Unicast]);
    assert_eq!(p.max_prefixes.unwrap().idle_hold, Some(30));
    let fsm = p.fsm_config(cfg.global.router_id.unwrap());
    assert_eq!(fsm.hold_time, 60);
    assert_eq!(fsm.families, vec![bgp_wire::Family::IPV6_UNICAST]);
}

#[test]
fn sender_side_loop_detection_is_on_unless_a_peer_turns_it_off() {
    let peer = |extra: &str| {
        let (cfg, _) = ok(&format!(
            "{BASE}[[peers]]\naddress = \"192.0.2.2\"\nasn = 65002\n{extra}\n"
        ));
        let p = cfg.resolve().remove(0);
        (
            p.sender_side_loop_detection,
            p.rib_config(&cfg).sender_side_loop_detection,
        )
    };
    assert_eq!(peer(""), (true, true));
    assert_eq!(peer("sender_side_loop_detection = false"), (false, false));
    let (cfg, _) = ok(&format!(
        "{BASE}[[connections]]\nname = \"a\"\nprovider = \"aws\"\n[[connections.tunnels]]\ninside_cidr = \"169.254.44.0/30\"\n"
    ));
    assert!(cfg.resolve().iter().all(|p| p.sender_side_loop_detection));
}

#[test]
fn sender_side_loop_detection_off_on_an_ibgp_peer_is_warned() {
    let peer = |asn: u32| {
        rules(&format!(
            "{BASE}[[peers]]\naddress = \"192.0.2.2\"\nasn = {asn}\nsender_side_loop_detection = false\n"
        ))
    };
    assert!(peer(65001).contains(&"GEN-LOOP-DETECT"));
    assert!(!peer(65002).contains(&"GEN-LOOP-DETECT"));
}

#[test]
fn graceful_restart_helper_is_on_for_peers_and_follows_gr_on_connections() {
    let peer = |extra: &str| {
        let (cfg, _) = ok(&format!(
            "{BASE}[[peers]]\naddress = \"192.0.2.2\"\nasn = 65002\n{extra}\n"
        ));
        cfg.resolve().remove(0)
    };
    let rid = "192.0.2.1".parse().unwrap();
    let p = peer("");
    assert!(p.graceful_restart_helper);
    assert_eq!((p.graceful_restart, p.stale_path_time), (None, 360));
    // The helper announces the capability with no family: we keep no forwarding state of
    // our own across a restart (RFC 4724 §4).
    let gr = p.fsm_config(rid).graceful_restart.unwrap();
    assert_eq!((gr.restart_time, gr.restarting_speaker), (120, false));
    let open = p.fsm_config(rid).open();
    let announced = open.capabilities.iter().find_map(|c| match c {
        bgp_wire::Capability::GracefulRestart(g) => Some(g.clone()),
        _ => None,
    });
    assert_eq!(announced.map(|g| g.families), Some(vec![]));
    let h = p.helper_config();
    assert!(h.enabled);
    assert_eq!(h.stale_path_time.as_secs(), 360);

    // graceful_restart = true: a restarting speaker, the families listed.
    let p = peer("graceful_restart = true\nstale_path_time = 30\nrestart_time = 90");
    assert_eq!((p.stale_path_time, p.graceful_restart), (30, Some(90)));
    let gr = p.fsm_config(rid).graceful_restart.unwrap();
    assert_eq!((gr.restart_time, gr.restarting_speaker), (90, true));
    let p = peer("graceful_restart_helper = false");
    assert!(!p.graceful_restart_helper);
    assert!(
        p.fsm_config(rid).graceful_restart.is_none(),
        "nothing announced"
    );
    let p = peer("graceful_restart_helper = false\ngraceful_restart = true");
    assert_eq!(p.graceful_restart, Some(120));
    assert!(!p.helper_config().enabled);

    // Tunnels fail over to each other: no helper unless the provider restarts gracefully.
    let (cfg, _) = ok(&format!(
        "{BASE}[[connections]]\nname = \"a\"\nprovider = \"aws\"\n[[connections.tunnels]]\ninside_cidr = \"169.254.44.0/30\"\n"
    ));
    let p = &cfg.resolve()[0];
    assert!(!p.graceful_restart_helper);
    assert_eq!(p.graceful_restart, None);
    let (cfg, _) = ok(S5);
    assert!(
        cfg.resolve().iter().all(|p| p.graceful_restart_helper),
        "GR-GCP"
    );
}

#[test]
fn tunnel_roles_become_a_tunnel_pair_and_networks_restrict_export() {
    let (cfg, _) = ok(S1);
    let peers = cfg.resolve();
    let active = peers[0].rib_config(&cfg);
    let standby = peers[1].rib_config(&cfg);
    // Roles go to bgp-rib's tunnel pair, not into per-peer policy.
    assert_eq!((active.export_prepend, standby.export_prepend), (0, 0));
    assert_eq!(standby.import.rules.len(), 0);
    let pairs = cfg.tunnel_pairs();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].1, vec![peers[0].address, peers[1].address]);
    assert_eq!(pairs[0].2, Some(peers[0].address));
    assert_eq!(
        active.export.rules.len(),
        1,
        "export only the connection's networks"
    );
    assert_eq!(active.max_export, Some(50));
    assert_eq!(active.local_v4, Some("169.254.10.1".parse().unwrap()));
}

#[test]
fn rule_ids_of_single_mistakes() {
    let conn = |provider: &str, extra: &str, cidr: &str| {
        format!(
            "{BASE}[[connections]]\nname = \"c\"\nprovider = \"{provider}\"\npeer_asn = 65100\n{extra}\n[[connections.tunnels]]\ninside_cidr = \"{cidr}\"\n"
        )
    };
    assert_eq!(
        rules(&conn("aws", "", "169.254.169.252/30")),
        ["ADDR-AWS-2"]
    );
    assert_eq!(rules(&conn("aws", "", "169.254.44.0/29")), ["ADDR-AWS-1"]);
    assert_eq!(rules(&conn("aws", "", "fd00::/126")), ["ADDR-AWS-6"]);
    assert_eq!(
        rules(&conn("aws-tgw", "", "fd00::/126")),
        Vec::<&str>::new()
    );
    assert_eq!(rules(&conn("aws-tgw", "", "fdff::/64")), ["ADDR-AWS-6"]);
    assert_eq!(
        rules(&conn("alibaba", "", "169.254.6.0/30")),
        ["ADDR-ALI-2"]
    );
    assert_eq!(rules(&conn("alibaba", "", "10.0.0.0/30")), ["ADDR-ALI-1"]);
    assert_eq!(rules(&conn("azure", "", "169.254.23.0/30")), ["ADDR-AZ-1"]);
    assert_eq!(
        rules(&conn("azure", "bfd = true", "169.254.21.0/30")),
        ["BFD-AZ"]
    );
    assert_eq!(
        rules(&conn("azure", "passive = true", "169.254.21.0/30")),
        ["INIT-AZ-1"]
    );
    assert_eq!(
        rules(&conn("gcp", "bfd = true", "169.254.0.0/30")),
        ["BFD-GCP"]
    );
    assert_eq!(
        rules(&conn("gcp", "keepalive = 10", "169.254.0.0/30")),
        ["TMR-GCP-1"]
    );
    assert_eq!(rules(&conn("gcp", "", "fdff:1::/126")), Vec::<&str>::new());
    assert_eq!(rules(&conn("gcp", "", "fdff:2::/126")), ["ADDR-GCP-3"]);
    assert_eq!(
        rules(&conn("generic", "", "10.9.9.0/29")),
        ["GEN-TUN-PREFIX"]
    );
    assert_eq!(
        rules(&conn("generic", "", "169.254.1.0/30")),
        ["GEN-TUN-RESERVED"]
    );
    assert_eq!(
        rules(&conn("generic", "", "10.9.9.0/31")),
        Vec::<&str>::new()
    );
    assert_eq!(
        rules(&conn("aws", "passive = true", "169.254.44.0/30")),
        ["INIT-AWS-1"]
    );
    assert_eq!(
        rules(&conn("aws", "mode = \"active-standby\"", "169.254.44.0/30")),
        ["PREF-AWS-3"]
    );
    assert_eq!(
        rules(&conn(
            "alibaba",
            "networks = [\"0.0.0.0/0\"]",
            "169.254.44.0/30"
        )),
        ["LIM-ALI-2"]
    );
    assert_eq!(
        rules(&conn(
            "alibaba",
            "networks = [\"100.100.0.0/16\"]",
            "169.254.44.0/30"
        )),
        ["LIM-ALI-2"]
    );
    assert_eq!(
        rules(&conn(
            "aws",
            "networks = [\"100.100.0.0/16\"]",
            "169.254.44.0/30"
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        rules(&conn("gcp", "peer_asn = 16550", "169.254.0.0/30").replace("peer_asn = 65100\n", "")),
        ["ASN-GCP-1"]
    );
    assert_eq!(
        rules(&conn("gcp", "", "169.254.0.0/30").replace("peer_asn = 65100\n", "")),
        ["GEN-ASN-MISSING"]
    );
    assert_eq!(
        rules(&conn("aws", "", "169.254.44.0/30").replace("65001", "7224")),
        ["ASN-AWS-2"]
    );
    assert_eq!(
        rules(&conn("aws", "", "169.254.44.0/30").replace("65001", "64512")),
        ["ASN-AWS-4"]
    );
    assert_eq!(
        rules(&conn("azure", "", "169.254.21.0/30").replace("65001", "65518")),
        ["ASN-AZ-1"]
    );
    assert_eq!(
        rules(&conn("azure", "", "169.254.21.0/30").replace("65001", "64500")),
        ["ASN-AZ-2"]
    );
    assert_eq!(
        rules(&conn("generic", "", "10.9.9.0/30").replace("65100", "65001")),
        ["GEN-ASN-PEER"]
    );
}

#[test]
fn generic_rules() {
    assert_eq!(rules("[global]\nasn = 65001\n"), ["GEN-ROUTER-ID"]);
    assert_eq!(rules(&format!("{BASE}hold_time = 2\n")), ["GEN-TIMER-HOLD"]);
    assert_eq!(
        rules(&format!("{BASE}keepalive = 40\n")),
        ["GEN-TIMER-KEEPALIVE"]
    );
    assert_eq!(
        rules(&format!("{BASE}keepalive = 90\n")),
        ["GEN-TIMER-KEEPALIVE"]
    );
    assert_eq!(
        rules(&format!("{BASE}asn = 23456\n").replacen("asn = 65001\n", "", 1)),
        ["GEN-ASN-RESERVED"]
    );
    assert_eq!(rules(&format!("{BASE}max_paths = 0\n")), ["GEN-MAX-PATHS"]);
    assert_eq!(rules(&format!("{BASE}threads = 0\n")), ["GEN-THREADS"]);
    assert_eq!(ok(BASE).0.global.threads, 1, "one worker unless configured");
    assert_eq!(ok(&format!("{BASE}threads = 4\n")).0.global.threads, 4);
    let peer =
        |extra: &str| format!("{BASE}[[peers]]\naddress = \"192.0.2.2\"\nasn = 65002\n{extra}\n");
    assert_eq!(rules(&peer("import = \"nope\"")), ["GEN-POLICY-UNKNOWN"]);
    assert_eq!(rules(&peer("md5_password = \"\"")), ["GEN-MD5"]);
    assert_eq!(rules(&peer("ttl_security = 255")), ["GEN-TTL"]);
    assert_eq!(rules(&peer("route_reflector_client = true")), ["GEN-RR"]);
    assert_eq!(
        rules(&peer("interface = \"a-very-long-interface-name\"")),
        ["GEN-INTERFACE"]
    );
    assert_eq!(
        rules(&peer("local_address = \"2001:db8::1\"")),
        ["GEN-LOCAL-ADDRESS"]
    );
    assert_eq!(rules(&peer("families = []")), ["GEN-FAMILY"]);
    assert_eq!(rules(&peer("restart_time = 5000")), ["GEN-GR"]);
    assert_eq!(rules(&peer("stale_path_time = 0")), ["GEN-GR"]);
    assert_eq!(rules(&peer("stale_path_time = 5000")), ["GEN-GR"]);
    assert_eq!(
        rules(&peer(
            "graceful_restart_helper = false\nstale_path_time = 60"
        )),
        ["GEN-GR"]
    );
    assert_eq!(rules(&peer("max_prefixes = 0")), ["GEN-MAX-PREFIXES"]);
    assert_eq!(
        rules(&format!(
            "{}[[peers]]\naddress = \"192.0.2.2\"\nasn = 65003\n",
            peer("")
        )),
        ["GEN-PEER-DUP"]
    );
    assert_eq!(
        rules(&format!("{BASE}[[networks]]\nprefix = \"10.0.0.1/16\"\n")),
        ["GEN-PREFIX"]
    );
    assert_eq!(
        rules(&format!(
            "{BASE}[policies.p]\n[[policies.p.terms]]\nprefix = [\"10.0.0.0/8 le 4\"]\n"
        )),
        ["GEN-PREFIX"]
    );
    assert_eq!(
        rules(&format!(
            "{BASE}[policies.p]\n[[policies.p.terms]]\naccept = true\nreject = true\n"
        )),
        ["GEN-POLICY-TERM"]
    );
    assert_eq!(
        rules(&format!(
            "{BASE}[policies.p]\n[[policies.p.terms]]\nadd_community = [\"1:2:3\"]\n"
        )),
        ["GEN-COMMUNITY"]
    );
    assert_eq!(rules(&format!("{BASE}port = \"x\"\n")), ["CFG-TYPE"]);
    assert_eq!(
        rules(&format!(
            "{BASE}[[connections]]\nname = \"x\"\nprovider = \"oracle\"\n"
        )),
        ["CFG-UNKNOWN-VALUE"]
    );
    assert_eq!(
        rules("[global]\nrouter_id = \"192.0.2.1\"\n"),
        ["CFG-MISSING-FIELD"]
    );
}

#[test]
fn every_rule_id_is_documented() {
    let doc = include_str!("../../../docs/CONFIG.md");
    for (id, _) in rules::ALL {
        assert!(
            doc.contains(&format!("`{id}`")),
            "{id} is not in docs/CONFIG.md"
        );
    }
}

fn conn2(provider: &str, extra: &str, t1: &str, t2: &str) -> String {
    format!(
        "{BASE}[[connections]]\nname = \"c\"\nprovider = \"{provider}\"\npeer_asn = 65100\n{extra}\n\
         [[connections.tunnels]]\ninside_cidr = \"169.254.21.0/30\"\n{t1}\n\
         [[connections.tunnels]]\ninside_cidr = \"169.254.22.0/30\"\n{t2}\n"
    )
}

#[test]
fn connection_level_rules() {
    let none: Vec<&str> = Vec::new();
    assert_eq!(rules(&conn2("alibaba", "", "", "")), none);
    assert_eq!(
        rules(&conn2(
            "alibaba",
            "",
            "role = \"standby\"",
            "role = \"active\""
        )),
        ["PREF-ALI-1"]
    );
    assert_eq!(
        rules(&conn2("alibaba", "", "", "role = \"active\"")),
        ["GEN-PAIR"]
    );
    assert_eq!(
        rules(&conn2("alibaba", "", "", "peer_asn = 65101")),
        ["ASN-ALI-3"]
    );
    assert_eq!(
        rules(&conn2("gcp", "", "", "peer_asn = 65101")),
        ["ASN-GCP-2"]
    );
    assert_eq!(
        rules(&conn2("azure", "mode = \"active-standby\"", "", "")),
        ["ADDR-AZ-3"]
    );
    assert_eq!(
        rules(&conn2("aws", "", "role = \"active\"", "")),
        ["GEN-PAIR"]
    );
    assert_eq!(
        rules(&conn2("aws", "export_limit = 150", "", "")),
        ["LIM-AWS-1"]
    );
    assert_eq!(
        rules(&conn2("alibaba", "export_limit = 150", "", "")),
        none,
        "quota raisable"
    );
    assert_eq!(
        rules(&conn2("aws-tgw", "", "", "").replace("169.254.22.0/30", "fd00::/126")),
        ["ADDR-AWS-6"]
    );
    assert_eq!(
        rules(&conn2(
            "azure",
            "networks = [\"10.1.0.0/16\"]\nremote_networks = [\"10.1.0.0/16\"]",
            "",
            ""
        )),
        ["LIM-AZ-2"]
    );
    assert_eq!(
        rules(&conn2(
            "aws",
            "networks = [\"10.1.1.0/24\"]\nremote_networks = [\"10.1.0.0/16\"]",
            "",
            ""
        )),
        ["GEN-REMOTE-OVERLAP"]
    );
    assert_eq!(
        rules(&conn2(
            "azure",
            "remote_networks = [\"169.254.21.0/24\"]",
            "",
            ""
        )),
        ["ADDR-AZ-5"]
    );
    assert_eq!(
        rules(&conn2("gcp", "", "", "").replace("169.254.22.0/30", "169.254.21.0/30")),
        ["GEN-TUN-DUP"]
    );
    assert_eq!(
        rules(&conn2("aws", "", "", "").replace(
            "[[connections.tunnels]]\ninside_cidr = \"169.254.22.0/30\"\n",
            ""
        )),
        none
    );
    assert_eq!(
        rules(&format!(
            "{BASE}[[connections]]\nname = \"c\"\nprovider = \"aws\"\n"
        )),
        ["GEN-TUN-NONE"]
    );
    assert_eq!(
        rules(&conn2(
            "azure",
            "",
            "local_address = \"169.254.21.2\"\npeer_address = \"169.254.21.1\"",
            ""
        )),
        ["ADDR-AZ-4"]
    );
}

#[test]
fn type_errors_inside_arrays_name_the_field_and_line() {
    let text = format!(
        "{BASE}\n[[connections]]\nname = \"c\"\nprovider = \"aws\"\n\n[[connections.tunnels]]\ninside_cidr = \"169.254.44.0/30\"\n\n[[connections.tunnels]]\ninside_cidr = \"169.254.48.0/33\"\n"
    );
    let r = check_str(&text, "t.toml").unwrap_err();
    let d = &r.diagnostics()[0];
    assert_eq!(d.rule, "CFG-TYPE");
    assert_eq!(d.field, "connections[0].tunnels[1].inside_cidr");
    assert_eq!((d.line, d.column), (13, 15));
    assert!(
        d.to_string()
            .starts_with("t.toml:13:15: error[CFG-TYPE] connections[0].tunnels[1].inside_cidr: ")
    );
}

#[test]
fn warnings_do_not_refuse_and_render_with_a_summary() {
    let (_, r) = ok(&format!("{BASE}keepalive = 40\nhold_time = 90\n"));
    assert!(r.is_ok());
    assert_eq!(r.warnings().count(), 1);
    assert!(r.render().ends_with("0 errors, 1 warning\n"));
    let (_, clean) = ok(BASE);
    assert_eq!(clean.render(), "");
}

#[test]
fn ipv6_next_hop_and_max_prefix_idle_hold_reach_the_runtime() {
    let (cfg, _) = ok(r#"
[global]
asn = 65001
router_id = "192.0.2.1"

[[peers]]
address = "192.0.2.2"
asn = 65002
local_address = "192.0.2.1"
ipv6_next_hop = "2001:db8::1"
families = ["ipv4-unicast", "ipv6-unicast"]
max_prefixes = 100
max_prefixes_action = "shutdown"
idle_hold = 600
"#);
    let p = &cfg.resolve()[0];
    let rib = p.rib_config(&cfg);
    assert_eq!(rib.local_v4, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(rib.local_v6, Some("2001:db8::1".parse().unwrap()));
    let fsm = p.fsm_config(cfg.global.router_id.unwrap());
    assert_eq!(fsm.idle_hold_time, std::time::Duration::from_secs(600));
    assert!(fsm.idle_hold_time_max >= fsm.idle_hold_time);
    assert!(
        bgp_fsm::Session::new(fsm).is_ok(),
        "the FSM accepts the configuration"
    );
}

/// Writes `text` to a file of its own and runs the reload check against `running`.
fn reload_check(text: &str, running: &Config, name: &str) -> Result<(Config, Report), Report> {
    let dir = std::env::temp_dir().join(format!("bgpd-check-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let r = check_reload(&path, running);
    let _ = std::fs::remove_file(&path);
    r
}

#[test]
fn reload_refuses_a_new_identity_with_file_line_field_and_fix() {
    let (running, _) = ok(BASE);
    let text = BASE.replace("asn = 65001", "asn = 65009");
    let err = reload_check(&text, &running, "asn.toml").expect_err("a new AS is refused");
    let d = err.errors().next().expect("one error");
    assert_eq!(
        (d.rule, d.field.as_str(), d.line),
        ("CFG-RELOAD-IDENTITY", "global.asn", 2)
    );
    assert!(d.file.ends_with("asn.toml"), "{}", d.file);
    assert!(
        d.message.contains("65001") && d.message.contains("65009"),
        "{}",
        d.message
    );
    assert!(d.fix.as_deref().is_some_and(|f| f.contains("restart bgpd")));

    let text = BASE.replace("192.0.2.1\"\n", "192.0.2.77\"\n");
    assert_ne!(text, BASE, "the base file names the router id as expected");
    let err = reload_check(&text, &running, "id.toml").expect_err("a new router id is refused");
    assert_eq!(
        err.errors().map(|d| d.field.as_str()).collect::<Vec<_>>(),
        ["global.router_id"]
    );
}

#[test]
fn reload_warns_about_start_only_settings_against_what_runs() {
    let (running, _) = ok(BASE);
    let text = BASE.replace(
        "[global]\n",
        "[global]\nthreads = 2\nmetrics = \"127.0.0.1:9179\"\n",
    );
    let (_, report) = reload_check(&text, &running, "threads.toml").expect("applied");
    let mut fields: Vec<(&str, &str)> = report
        .warnings()
        .map(|d| (d.rule, d.field.as_str()))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("CFG-RELOAD-RESTART", "global.metrics"),
            ("CFG-RELOAD-RESTART", "global.threads")
        ]
    );
    let threads = report
        .warnings()
        .find(|d| d.field == "global.threads")
        .unwrap();
    assert_eq!(threads.line, 2, "placed on the field's line");
    assert!(
        threads.message.contains("running with 1"),
        "{}",
        threads.message
    );
    // The same file as the running one: nothing to say.
    let (_, same) = reload_check(BASE, &running, "same.toml").expect("applied");
    assert_eq!(same.warnings().count(), 0);
    // The kernel table our routes go into is the installer's from start.
    let text = format!("{BASE}[global.fib]\ntable = 100\n");
    let (_, report) = reload_check(&text, &running, "fib.toml").expect("applied");
    let fib: Vec<(&str, u32)> = report
        .warnings()
        .map(|d| (d.field.as_str(), d.line))
        .collect();
    assert_eq!(fib, [("global.fib.table", 5)]);
}
