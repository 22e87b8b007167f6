//! The policy language as written in the file, and its conversion to the engine in
//! `bgp_rib::policy`.
//!
//! ```toml
//! [policies.from-cloud]
//! default = "reject"
//! [[policies.from-cloud.terms]]
//! prefix = ["10.0.0.0/8 le 24", "192.168.0.0/16 ge 24 le 24"]
//! set_local_pref = 200
//! accept = true
//! ```
//!
//! A term whose every match holds applies its actions, then accepts (`accept = true`),
//! rejects (`reject = true`) or goes on with the next term (neither). `default` decides
//! when no term accepted or rejected.

use std::fmt;

use ipnet::IpNet;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::diag::tagged;
use super::schema::Asn;
use bgp_rib::policy::{Action, Condition, Policy, PrefixList, PrefixListEntry, Rule, RuleResult};
use bgp_wire::Community as WireCommunity;

/// `[policies.NAME]`.
#[derive(Clone, PartialEq, Eq, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDef {
    /// What happens to a route no term accepted or rejected.
    #[serde(default)]
    pub default: DefaultAction,
    /// Terms, in order.
    #[serde(default)]
    pub terms: Vec<Term>,
}

/// The policy's fall-through result.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultAction {
    /// Accept (the routes keep whatever earlier `continue` terms set).
    #[default]
    Accept,
    /// Reject.
    Reject,
}

/// One term: matches (all must hold; none = always) and actions.
#[derive(Clone, PartialEq, Eq, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// Free text for logs.
    #[serde(default)]
    pub name: Option<String>,
    /// The prefix is permitted by any entry (`"10.0.0.0/8"`, `"10.0.0.0/8 le 24"`,
    /// `"10.0.0.0/8 ge 16 le 24"`).
    #[serde(default)]
    pub prefix: Vec<PrefixMatch>,
    /// The AS path contains this AS.
    #[serde(default)]
    pub as_path_contains: Option<Asn>,
    /// The route originated in this AS (last in the path).
    #[serde(default)]
    pub origin_as: Option<Asn>,
    /// The neighbouring AS (first in the path) is this one.
    #[serde(default)]
    pub neighbor_as: Option<Asn>,
    /// The AS path is at most this long (RFC 4271 counting, a set counts 1).
    #[serde(default)]
    pub as_path_length_max: Option<u16>,
    /// The route carries this community (`"65000:100"`, `"no-export"`).
    #[serde(default)]
    pub community: Option<Community>,
    /// Set LOCAL_PREF.
    #[serde(default)]
    pub set_local_pref: Option<u32>,
    /// Set MULTI_EXIT_DISC.
    #[serde(default)]
    pub set_med: Option<u32>,
    /// Add communities.
    #[serde(default)]
    pub add_community: Vec<Community>,
    /// Remove communities.
    #[serde(default)]
    pub remove_community: Vec<Community>,
    /// Prepend an AS `count` times.
    #[serde(default)]
    pub prepend: Option<Prepend>,
    /// Accept after the actions.
    #[serde(default)]
    pub accept: bool,
    /// Reject (actions are then irrelevant).
    #[serde(default)]
    pub reject: bool,
}

/// `prepend = { asn = 65000, count = 2 }`; `asn` defaults to our own AS.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prepend {
    /// The AS to prepend; the local AS when absent.
    #[serde(default)]
    pub asn: Option<Asn>,
    /// How many times (1..=10).
    pub count: u8,
}

/// A prefix-list entry: a prefix and the lengths it admits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PrefixMatch {
    /// The covering prefix as written (host bits are reported by `check`).
    pub prefix: IpNet,
    /// Shortest admitted length.
    pub ge: Option<u8>,
    /// Longest admitted length.
    pub le: Option<u8>,
}

impl PrefixMatch {
    /// Parses `"P"`, `"P le N"`, `"P ge N"`, `"P ge N le M"`.
    pub fn parse(s: &str) -> Result<PrefixMatch, String> {
        let mut words = s.split_whitespace();
        let first = words.next().ok_or("empty prefix-list entry")?;
        let prefix: IpNet = first
            .parse()
            .map_err(|_| format!("`{first}` is not a prefix (address/length)"))?;
        let mut m = PrefixMatch {
            prefix,
            ge: None,
            le: None,
        };
        while let Some(w) = words.next() {
            let v = words
                .next()
                .and_then(|v| v.parse::<u8>().ok())
                .ok_or_else(|| format!("`{s}`: `{w}` needs a length after it"))?;
            match w {
                "ge" if m.ge.is_none() => m.ge = Some(v),
                "le" if m.le.is_none() => m.le = Some(v),
                _ => return Err(format!("`{s}`: expected `ge N` and/or `le N`, found `{w}`")),
            }
        }
        let (own, max) = (prefix.prefix_len(), prefix.max_prefix_len());
        let lo = m.ge.unwrap_or(own);
        let hi = m.le.unwrap_or(if m.ge.is_some() { max } else { own });
        if lo < own || hi > max || lo > hi {
            return Err(format!(
                "`{s}`: lengths must satisfy {own} <= ge <= le <= {max}"
            ));
        }
        Ok(m)
    }
}

impl fmt::Display for PrefixMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix)?;
        if let Some(ge) = self.ge {
            write!(f, " ge {ge}")?;
        }
        if let Some(le) = self.le {
            write!(f, " le {le}")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PrefixMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PrefixMatch::parse(&s).map_err(|m| {
            de::Error::custom(tagged(
                "GEN-PREFIX",
                m,
                "write \"10.0.0.0/8\", \"10.0.0.0/8 le 24\" or \"10.0.0.0/8 ge 16 le 24\"",
            ))
        })
    }
}

impl Serialize for PrefixMatch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A standard community (RFC 1997).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Community(pub u32);

impl Community {
    /// Parses `"ASN:VALUE"` (both 0..=65535) or `no-export`, `no-advertise`,
    /// `no-export-subconfed`, `blackhole`.
    pub fn parse(s: &str) -> Result<Community, String> {
        match s {
            "no-export" => return Ok(Community(WireCommunity::NO_EXPORT.0)),
            "no-advertise" => return Ok(Community(WireCommunity::NO_ADVERTISE.0)),
            "no-export-subconfed" => return Ok(Community(0xFFFF_FF03)),
            "blackhole" => return Ok(Community(0xFFFF_029A)),
            _ => {}
        }
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not a community (ASN:VALUE)"))?;
        let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) else {
            return Err(format!(
                "`{s}`: both halves of a community must be 0..=65535"
            ));
        };
        Ok(Community((u32::from(a) << 16) | u32::from(b)))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

impl<'de> Deserialize<'de> for Community {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Community::parse(&s).map_err(|m| {
            de::Error::custom(tagged(
                "GEN-COMMUNITY",
                m,
                "write \"65000:100\" or a well-known name such as \"no-export\"",
            ))
        })
    }
}

impl Serialize for Community {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<&Term> for Rule {
    fn from(t: &Term) -> Rule {
        let mut conditions = Vec::new();
        if !t.prefix.is_empty() {
            conditions.push(Condition::Prefix(PrefixList {
                entries: t
                    .prefix
                    .iter()
                    .map(|m| PrefixListEntry {
                        prefix: m.prefix.trunc(),
                        ge: m.ge,
                        le: m.le,
                        permit: true,
                    })
                    .collect(),
            }));
        }
        if let Some(a) = t.as_path_contains {
            conditions.push(Condition::AsPathContains(a.0));
        }
        if let Some(a) = t.origin_as {
            conditions.push(Condition::OriginAs(a.0));
        }
        if let Some(a) = t.neighbor_as {
            conditions.push(Condition::NeighborAs(a.0));
        }
        if let Some(n) = t.as_path_length_max {
            conditions.push(Condition::AsPathLengthAtMost(n));
        }
        if let Some(c) = t.community {
            conditions.push(Condition::Community(WireCommunity(c.0)));
        }
        let mut actions = Vec::new();
        if let Some(v) = t.set_local_pref {
            actions.push(Action::SetLocalPref(v));
        }
        if let Some(v) = t.set_med {
            actions.push(Action::SetMed(v));
        }
        actions.extend(
            t.add_community
                .iter()
                .map(|c| Action::AddCommunity(WireCommunity(c.0))),
        );
        actions.extend(
            t.remove_community
                .iter()
                .map(|c| Action::RemoveCommunity(WireCommunity(c.0))),
        );
        if let Some(p) = t.prepend {
            actions.push(Action::Prepend {
                asn: p.asn.map(|a| a.0),
                count: p.count,
            });
        }
        let result = if t.reject {
            RuleResult::Reject
        } else if t.accept {
            RuleResult::Accept
        } else {
            RuleResult::Continue
        };
        Rule {
            conditions,
            actions,
            result,
        }
    }
}

impl From<&PolicyDef> for Policy {
    fn from(p: &PolicyDef) -> Policy {
        Policy {
            rules: p.terms.iter().map(Rule::from).collect(),
            default_accept: p.default == DefaultAction::Accept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_entries() {
        let m = PrefixMatch::parse("10.0.0.0/8 le 24").unwrap();
        assert_eq!((m.ge, m.le), (None, Some(24)));
        let m = PrefixMatch::parse("10.0.0.0/8 ge 16 le 24").unwrap();
        assert_eq!((m.ge, m.le), (Some(16), Some(24)));
        assert!(PrefixMatch::parse("10.0.0.0/8 le 4").is_err());
        assert!(PrefixMatch::parse("10.0.0.0/8 ge 24 le 16").is_err());
        assert!(PrefixMatch::parse("10.0.0.0/8 le 33").is_err());
        assert!(PrefixMatch::parse("10.0.0.0/8 lt 9").is_err());
        assert!(PrefixMatch::parse("2001:db8::/32 le 48").is_ok());
        assert_eq!(
            PrefixMatch::parse("10.0.0.0/8 ge 16 le 24")
                .unwrap()
                .to_string(),
            "10.0.0.0/8 ge 16 le 24"
        );
    }

    #[test]
    fn communities() {
        assert_eq!(
            Community::parse("65000:100").unwrap().0,
            (65000 << 16) | 100
        );
        assert_eq!(Community::parse("no-export").unwrap().0, 0xFFFF_FF01);
        assert!(Community::parse("65536:1").is_err());
        assert!(Community::parse("x").is_err());
    }

    #[test]
    fn converts_to_rib_policy() {
        let def: PolicyDef = toml::from_str(
            r#"
            default = "reject"
            [[terms]]
            prefix = ["10.0.0.0/8 le 24"]
            community = "65000:1"
            set_local_pref = 200
            add_community = ["65000:2"]
            prepend = { count = 2 }
            accept = true
            [[terms]]
            as_path_length_max = 3
            reject = true
            [[terms]]
            set_med = 5
            "#,
        )
        .unwrap();
        let p = Policy::from(&def);
        assert!(!p.default_accept);
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].conditions.len(), 2);
        assert_eq!(p.rules[0].result, RuleResult::Accept);
        assert_eq!(
            p.rules[0].actions,
            vec![
                Action::SetLocalPref(200),
                Action::AddCommunity(WireCommunity::new(65000, 2)),
                Action::Prepend {
                    asn: None,
                    count: 2
                }
            ]
        );
        assert_eq!(p.rules[1].result, RuleResult::Reject);
        assert_eq!(p.rules[2].result, RuleResult::Continue);
    }
}
