//! The policy language shared by import and export.
//!
//! A [`Policy`] is an ordered list of [`Rule`]s. A rule whose every [`Condition`] holds
//! applies its [`Action`]s and then ends evaluation with [`RuleResult::Accept`] or
//! [`RuleResult::Reject`], or goes on to the next rule with [`RuleResult::Continue`]. When
//! no rule ends evaluation, [`Policy::default_accept`] decides. The empty policy accepts
//! everything unchanged.
//!
//! ```
//! use bgp_rib::policy::{Action, Condition, Policy, PrefixList, Rule, RuleResult};
//! use bgp_wire::Community;
//!
//! // Accept only /24s and shorter inside 10.0.0.0/8, prefer those tagged 65000:10.
//! let policy = Policy {
//!     rules: vec![
//!         Rule::new(vec![Condition::Prefix(PrefixList::deny_all_but(["10.0.0.0/8 le 24"]))])
//!             .reject_unless_matched(),
//!         Rule::new(vec![Condition::Community(Community::new(65000, 10))])
//!             .then(vec![Action::SetLocalPref(200)], RuleResult::Accept),
//!     ],
//!     default_accept: true,
//! };
//! assert_eq!(policy.rules.len(), 2);
//! ```

use ipnet::IpNet;

use crate::attrs::PathAttrs;
use bgp_wire::{AttrFlags, AttrType, Community, LargeCommunity};

/// One entry of a prefix list: a prefix and the lengths it admits.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PrefixListEntry {
    /// Covering prefix.
    pub prefix: IpNet,
    /// Shortest admitted length (`ge`); defaults to the entry's own length.
    pub ge: Option<u8>,
    /// Longest admitted length (`le`); see [`PrefixListEntry::matches`] for the defaults.
    pub le: Option<u8>,
    /// Whether a match permits (true) or denies.
    pub permit: bool,
}

impl PrefixListEntry {
    /// Whether `p` falls inside this entry. Without `ge`/`le` the length must equal the
    /// entry's; with `ge` only, any length from `ge` to the address width; with `le` only,
    /// from the entry's length to `le`; with both, from `ge` to `le` (the usual router
    /// configuration semantics).
    pub fn matches(&self, p: &IpNet) -> bool {
        let covers = match (self.prefix, p) {
            (IpNet::V4(e), IpNet::V4(q)) => e.contains(q),
            (IpNet::V6(e), IpNet::V6(q)) => e.contains(q),
            _ => false,
        };
        if !covers {
            return false;
        }
        let len = p.prefix_len();
        let own = self.prefix.prefix_len();
        let (lo, hi) = match (self.ge, self.le) {
            (None, None) => (own, own),
            (Some(ge), None) => (ge, p.max_prefix_len()),
            (None, Some(le)) => (own, le),
            (Some(ge), Some(le)) => (ge, le),
        };
        len >= lo && len <= hi
    }
}

/// An ordered prefix list: the first matching entry decides; no match denies.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PrefixList {
    /// Entries in order.
    pub entries: Vec<PrefixListEntry>,
}

impl PrefixList {
    /// A list permitting the given entries, written as `"10.0.0.0/8"`,
    /// `"10.0.0.0/8 le 24"`, `"10.0.0.0/8 ge 16 le 24"`. Unparsable entries are skipped.
    pub fn deny_all_but<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        PrefixList {
            entries: entries.into_iter().filter_map(parse_entry).collect(),
        }
    }

    /// Whether the list permits `p`.
    pub fn permits(&self, p: &IpNet) -> bool {
        self.entries
            .iter()
            .find(|e| e.matches(p))
            .is_some_and(|e| e.permit)
    }
}

fn parse_entry(s: &str) -> Option<PrefixListEntry> {
    let mut words = s.split_whitespace();
    let prefix: IpNet = words.next()?.parse().ok()?;
    let mut e = PrefixListEntry {
        prefix: prefix.trunc(),
        ge: None,
        le: None,
        permit: true,
    };
    while let Some(w) = words.next() {
        let v: u8 = words.next()?.parse().ok()?;
        match w {
            "ge" => e.ge = Some(v),
            "le" => e.le = Some(v),
            _ => return None,
        }
    }
    Some(e)
}

/// A test on a route.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Condition {
    /// The prefix is permitted by the list.
    Prefix(PrefixList),
    /// The AS path contains the AS anywhere.
    AsPathContains(u32),
    /// The route originated in the AS (last AS of the path).
    OriginAs(u32),
    /// The neighbouring AS (first of the path) is this one.
    NeighborAs(u32),
    /// The AS path length (RFC 4271 counting) is at most this.
    AsPathLengthAtMost(u16),
    /// The route carries the community.
    Community(Community),
    /// The route carries the large community.
    LargeCommunity(LargeCommunity),
    /// The condition does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// Whether the condition looks at the prefix (not only at the attributes).
    pub fn reads_prefix(&self) -> bool {
        match self {
            Condition::Prefix(_) => true,
            Condition::Not(c) => c.reads_prefix(),
            _ => false,
        }
    }

    fn holds(&self, prefix: &IpNet, a: &PathAttrs) -> bool {
        match self {
            Condition::Prefix(l) => l.permits(prefix),
            Condition::AsPathContains(asn) => a.as_path().any(|x| x == *asn),
            Condition::OriginAs(asn) => a.origin_as() == Some(*asn),
            Condition::NeighborAs(asn) => a.neighbor_as() == Some(*asn),
            Condition::AsPathLengthAtMost(n) => a.as_path_len() <= usize::from(*n),
            Condition::Community(c) => a.communities().any(|x| x == *c),
            Condition::LargeCommunity(c) => a.large_communities().any(|x| x == *c),
            Condition::Not(c) => !c.holds(prefix, a),
        }
    }
}

/// A change to a route's attributes.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Action {
    /// Set LOCAL_PREF.
    SetLocalPref(u32),
    /// Set MULTI_EXIT_DISC.
    SetMed(u32),
    /// Remove MULTI_EXIT_DISC.
    RemoveMed,
    /// Add a community (kept sorted and unique).
    AddCommunity(Community),
    /// Remove a community.
    RemoveCommunity(Community),
    /// Replace all communities (empty removes the attribute).
    SetCommunities(Vec<Community>),
    /// Add a large community.
    AddLargeCommunity(LargeCommunity),
    /// Prepend an AS `count` times (`asn: None` means the local AS).
    Prepend {
        /// AS to prepend; `None` for the local AS.
        asn: Option<u32>,
        /// How many times.
        count: u8,
    },
}

/// What a matching rule does after its actions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RuleResult {
    /// Accept the route; stop.
    Accept,
    /// Reject the route; stop.
    Reject,
    /// Keep the actions and go on with the next rule.
    Continue,
}

/// One rule: conditions (all must hold), actions, result.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Rule {
    /// All must hold for the rule to match (none: always matches).
    pub conditions: Vec<Condition>,
    /// Applied in order when the rule matches.
    pub actions: Vec<Action>,
    /// What happens after a match.
    pub result: RuleResult,
}

impl Rule {
    /// A rule with these conditions that accepts with no actions.
    pub fn new(conditions: Vec<Condition>) -> Self {
        Rule {
            conditions,
            actions: Vec::new(),
            result: RuleResult::Accept,
        }
    }

    /// Sets actions and result.
    pub fn then(mut self, actions: Vec<Action>, result: RuleResult) -> Self {
        self.actions = actions;
        self.result = result;
        self
    }

    /// Turns the rule into "reject unless all conditions hold": it matches when any
    /// condition fails. Only meaningful with one condition, which is how it is used.
    pub fn reject_unless_matched(self) -> Self {
        Rule {
            conditions: self
                .conditions
                .into_iter()
                .map(|c| Condition::Not(Box::new(c)))
                .collect(),
            actions: Vec::new(),
            result: RuleResult::Reject,
        }
    }
}

/// An ordered list of rules and a default.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Policy {
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// Whether a route no rule accepted or rejected is accepted.
    pub default_accept: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::accept_all()
    }
}

/// The result of evaluating a policy on one route.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Verdict {
    pub accept: bool,
    /// Indices of the matching rules whose actions apply, in order.
    pub applied: Vec<u16>,
}

impl Policy {
    /// Accepts everything, unchanged.
    pub fn accept_all() -> Self {
        Policy {
            rules: Vec::new(),
            default_accept: true,
        }
    }

    /// Rejects everything.
    pub fn reject_all() -> Self {
        Policy {
            rules: Vec::new(),
            default_accept: false,
        }
    }

    /// Whether the policy accepts everything unchanged (the fast path).
    pub fn is_accept_all(&self) -> bool {
        self.default_accept && self.rules.is_empty()
    }

    /// Evaluates the rules on a route; fills `out`.
    pub(crate) fn evaluate_into(&self, prefix: &IpNet, attrs: &PathAttrs, out: &mut Verdict) {
        out.applied.clear();
        out.accept = self.default_accept;
        for (i, r) in self.rules.iter().enumerate() {
            if !r.conditions.iter().all(|c| c.holds(prefix, attrs)) {
                continue;
            }
            if !r.actions.is_empty() {
                out.applied.push(i.min(usize::from(u16::MAX)) as u16);
            }
            match r.result {
                RuleResult::Accept => {
                    out.accept = true;
                    return;
                }
                RuleResult::Reject => {
                    out.accept = false;
                    out.applied.clear();
                    return;
                }
                RuleResult::Continue => {}
            }
        }
    }

    /// The attributes after the actions of the applied rules.
    pub(crate) fn apply(&self, applied: &[u16], attrs: &PathAttrs, local_as: u32) -> PathAttrs {
        let mut a = attrs.clone();
        for &i in applied {
            let Some(rule) = self.rules.get(usize::from(i)) else {
                continue;
            };
            for act in &rule.actions {
                a = apply_action(act, &a, local_as);
            }
        }
        a
    }
}

fn set_communities(a: &PathAttrs, mut list: Vec<Community>) -> PathAttrs {
    list.sort();
    list.dedup();
    if list.is_empty() {
        return a.with_attr(AttrType::COMMUNITIES, None);
    }
    let v: Vec<u8> = list.iter().flat_map(|c| c.0.to_be_bytes()).collect();
    a.with_attr(
        AttrType::COMMUNITIES,
        Some((AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE, &v)),
    )
}

pub(crate) fn apply_action(act: &Action, a: &PathAttrs, local_as: u32) -> PathAttrs {
    match act {
        Action::SetLocalPref(v) => a.with_attr(
            AttrType::LOCAL_PREF,
            Some((AttrFlags::TRANSITIVE, &v.to_be_bytes())),
        ),
        Action::SetMed(v) => a.with_attr(
            AttrType::MULTI_EXIT_DISC,
            Some((AttrFlags::OPTIONAL, &v.to_be_bytes())),
        ),
        Action::RemoveMed => a.with_attr(AttrType::MULTI_EXIT_DISC, None),
        Action::AddCommunity(c) => {
            let mut list: Vec<Community> = a.communities().collect();
            list.push(*c);
            set_communities(a, list)
        }
        Action::RemoveCommunity(c) => {
            let list: Vec<Community> = a.communities().filter(|x| x != c).collect();
            set_communities(a, list)
        }
        Action::SetCommunities(list) => set_communities(a, list.clone()),
        Action::AddLargeCommunity(c) => {
            let mut list: Vec<LargeCommunity> = a.large_communities().collect();
            list.push(*c);
            list.sort();
            list.dedup();
            let v: Vec<u8> = list
                .iter()
                .flat_map(|c| {
                    let mut b = [0u8; 12];
                    b[..4].copy_from_slice(&c.global.to_be_bytes());
                    b[4..8].copy_from_slice(&c.local1.to_be_bytes());
                    b[8..].copy_from_slice(&c.local2.to_be_bytes());
                    b
                })
                .collect();
            a.with_attr(
                AttrType::LARGE_COMMUNITIES,
                Some((AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE, &v)),
            )
        }
        Action::Prepend { asn, count } => {
            let v = prepend_as_path(a.as_path_bytes(), asn.unwrap_or(local_as), *count);
            a.with_attr(AttrType::AS_PATH, Some((AttrFlags::TRANSITIVE, &v)))
        }
    }
}

/// A canonical (4-octet) AS_PATH value with `asn` prepended `count` times to the leading
/// AS_SEQUENCE (RFC 4271 §5.1.2), opening a new segment when the path starts with anything
/// else or the segment is full.
pub(crate) fn prepend_as_path(path: &[u8], asn: u32, count: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len() + 2 + 4 * usize::from(count));
    let mut n = usize::from(count);
    let mut rest = path;
    if let Some((&[2, seg_len], body)) = path.split_first_chunk::<2>() {
        let fit = (255 - usize::from(seg_len)).min(n);
        let extra = n - fit;
        if extra > 0 {
            out.extend_from_slice(&[2, extra as u8]);
            for _ in 0..extra {
                out.extend_from_slice(&asn.to_be_bytes());
            }
        }
        out.extend_from_slice(&[2, seg_len + fit as u8]);
        for _ in 0..fit {
            out.extend_from_slice(&asn.to_be_bytes());
        }
        rest = body;
        n = 0;
    }
    if n > 0 {
        out.extend_from_slice(&[2, n as u8]);
        for _ in 0..n {
            out.extend_from_slice(&asn.to_be_bytes());
        }
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{Canonicalizer, NextHopAddr};
    use bgp_wire::{AsPath, AttrValue, Attribute, Origin};

    fn attrs(path: &[u32], comms: &[Community]) -> PathAttrs {
        let mut v = vec![
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(path.iter().copied()))),
        ];
        if !comms.is_empty() {
            v.push(Attribute::new(AttrValue::Communities(comms.to_vec())));
        }
        let raw = Canonicalizer::new().canonical_attributes(&v).to_vec();
        PathAttrs::from_canonical(&raw, NextHopAddr::LOCAL_V4)
    }

    fn p(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn prefix_list_ge_le() {
        let l = PrefixList::deny_all_but(["10.0.0.0/8 ge 16 le 24", "192.0.2.0/24"]);
        assert!(l.permits(&p("10.1.0.0/16")));
        assert!(l.permits(&p("10.1.2.0/24")));
        assert!(!l.permits(&p("10.0.0.0/8")));
        assert!(!l.permits(&p("10.1.2.0/25")));
        assert!(l.permits(&p("192.0.2.0/24")));
        assert!(!l.permits(&p("192.0.2.0/25")));
        assert!(!l.permits(&p("2001:db8::/32")));
        let ge = PrefixList::deny_all_but(["10.0.0.0/8 ge 30"]);
        assert!(ge.permits(&p("10.0.0.4/30")));
        assert!(ge.permits(&p("10.0.0.4/32")));
        assert!(!ge.permits(&p("10.0.0.0/29")));
        let le = PrefixList::deny_all_but(["10.0.0.0/8 le 9"]);
        assert!(le.permits(&p("10.0.0.0/8")));
        assert!(le.permits(&p("10.128.0.0/9")));
        assert!(!le.permits(&p("10.0.0.0/10")));
    }

    #[test]
    fn rules_match_aspath_and_communities_and_set() {
        let pol = Policy {
            rules: vec![
                Rule::new(vec![Condition::OriginAs(65099)]).then(vec![], RuleResult::Reject),
                Rule::new(vec![Condition::Community(Community::new(65000, 1))]).then(
                    vec![
                        Action::SetLocalPref(300),
                        Action::SetMed(5),
                        Action::AddCommunity(Community::new(65000, 2)),
                        Action::RemoveCommunity(Community::new(65000, 1)),
                    ],
                    RuleResult::Continue,
                ),
                Rule::new(vec![Condition::NeighborAs(65001)]).then(
                    vec![Action::Prepend {
                        asn: None,
                        count: 2,
                    }],
                    RuleResult::Accept,
                ),
            ],
            default_accept: false,
        };
        let mut v = Verdict::default();
        let a = attrs(&[65001, 65099], &[]);
        pol.evaluate_into(&p("10.0.0.0/8"), &a, &mut v);
        assert!(!v.accept);
        let a = attrs(&[65001, 65002], &[Community::new(65000, 1)]);
        pol.evaluate_into(&p("10.0.0.0/8"), &a, &mut v);
        assert!(v.accept);
        assert_eq!(v.applied, [1, 2]);
        let b = pol.apply(&v.applied, &a, 64512);
        assert_eq!(b.local_pref(), Some(300));
        assert_eq!(b.med(), Some(5));
        assert_eq!(
            b.communities().collect::<Vec<_>>(),
            [Community::new(65000, 2)]
        );
        assert_eq!(
            b.as_path().collect::<Vec<_>>(),
            [64512, 64512, 65001, 65002]
        );
        let c = attrs(&[65003], &[]);
        pol.evaluate_into(&p("10.0.0.0/8"), &c, &mut v);
        assert!(!v.accept, "default reject");
    }

    #[test]
    fn prepend_opens_segment_when_path_starts_with_set_or_is_empty() {
        assert_eq!(prepend_as_path(&[], 1, 1), vec![2, 1, 0, 0, 0, 1]);
        let set = [1u8, 1, 0, 0, 0, 9];
        assert_eq!(
            prepend_as_path(&set, 1, 1),
            vec![2, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 9]
        );
    }
}
