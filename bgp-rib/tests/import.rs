//! Import processing: policy language through the RIB, max-prefix actions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_rib::policy::{Action, Condition, Policy, PrefixList, Rule, RuleResult};
use bgp_rib::{ChangeKind, MaxPrefix, MaxPrefixAction, PeerConfig};
use bgp_wire::Community;
use common::*;
use std::net::IpAddr;

fn cfg(n: u8, asn: u32) -> PeerConfig {
    PeerConfig::new(IpAddr::V4(v4(&format!("10.0.0.{n}"))), asn)
}

#[test]
fn import_policy_filters_and_sets() {
    let mut rib = rib();
    let mut c = cfg(1, 65001);
    c.import = Policy {
        rules: vec![
            Rule::new(vec![Condition::Prefix(PrefixList::deny_all_but([
                "10.0.0.0/8 le 24",
            ]))])
            .reject_unless_matched(),
            Rule::new(vec![Condition::Community(Community::new(65001, 100))]).then(
                vec![
                    Action::SetLocalPref(300),
                    Action::RemoveCommunity(Community::new(65001, 100)),
                ],
                RuleResult::Accept,
            ),
            Rule::new(vec![Condition::AsPathContains(666)]).then(vec![], RuleResult::Reject),
            Rule::new(vec![]).then(vec![Action::SetMed(7)], RuleResult::Continue),
        ],
        default_accept: true,
    };
    let a = peer_with(&mut rib, 1, c);
    // Outside the prefix list.
    let out = rib
        .announce(a, nh(1), &A::path(&[65001]).build(), [nlri("192.0.2.0/24")])
        .unwrap();
    assert_eq!(out.rejected, 1);
    // Too long.
    let out = rib
        .announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.1.2.0/25")])
        .unwrap();
    assert_eq!(out.rejected, 1);
    // Community match sets LOCAL_PREF and strips the community.
    let tagged = A::path(&[65001]).community(Community::new(65001, 100));
    let out = rib
        .announce(
            a,
            nh(1),
            &tagged.build(),
            [nlri("10.1.0.0/16"), nlri("10.2.0.0/16")],
        )
        .unwrap();
    assert_eq!(out.changes.len(), 2);
    let best = rib.best(p("10.1.0.0/16")).unwrap();
    assert_eq!(best.attrs.local_pref(), Some(300));
    assert_eq!(best.attrs.communities().count(), 0);
    // Both prefixes share the one interned result.
    assert_eq!(rib.attribute_set_count(), 1);
    // AS path match rejects.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[65001, 666]).build(),
            [nlri("10.3.0.0/16")],
        )
        .unwrap();
    assert_eq!(out.rejected, 1);
    // Fall-through rule applies MED and the default accepts.
    rib.announce(
        a,
        nh(1),
        &A::path(&[65001, 5]).build(),
        [nlri("10.4.0.0/16")],
    )
    .unwrap();
    assert_eq!(rib.best(p("10.4.0.0/16")).unwrap().attrs.med(), Some(7));
    // A re-announcement the policy now rejects withdraws the earlier path.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[65001, 666]).build(),
            [nlri("10.4.0.0/16")],
        )
        .unwrap();
    assert_eq!(out.changes[0].kind, ChangeKind::Withdrawn);
}

#[test]
fn max_prefix_actions() {
    for action in [
        MaxPrefixAction::Warn,
        MaxPrefixAction::DropExcess,
        MaxPrefixAction::Shutdown,
    ] {
        let mut rib = rib();
        let mut c = cfg(1, 65001);
        c.max_prefix = Some(MaxPrefix { limit: 2, action });
        let a = peer_with(&mut rib, 1, c);
        let out = rib
            .announce(
                a,
                nh(1),
                &A::path(&[65001]).build(),
                [
                    nlri("10.1.0.0/16"),
                    nlri("10.2.0.0/16"),
                    nlri("10.3.0.0/16"),
                ],
            )
            .unwrap();
        assert!(out.max_prefix_exceeded, "{action:?}");
        assert_eq!(out.shutdown, action == MaxPrefixAction::Shutdown);
        let held = rib.peer_path_count(a);
        match action {
            MaxPrefixAction::Warn => assert_eq!(held, 3),
            _ => assert_eq!(held, 2),
        }
        // Replacing an accepted prefix is always allowed.
        let out = rib
            .announce(
                a,
                nh(1),
                &A::path(&[65001, 1]).build(),
                [nlri("10.1.0.0/16")],
            )
            .unwrap();
        assert_eq!(out.changes.len(), 1);
        assert!(!out.max_prefix_exceeded);
    }
}
