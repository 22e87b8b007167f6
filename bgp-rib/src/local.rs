//! Locally originated routes: configured networks (VPC CIDRs, extra blocks), optionally
//! announced only while a condition the caller tracks holds (e.g. the prefix is in the
//! kernel routing table).

use std::collections::HashMap;

use bgp_wire::{AsPath, AttrValue, Attribute, Community, Origin};
use ipnet::IpNet;

use crate::attrs::{Canonicalizer, NextHopAddr, PathAttrs};
use crate::rib::{Change, Rib};

/// When a local route is announced.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OriginCondition {
    /// Always.
    Always,
    /// Only while the caller says the condition holds ([`Rib::set_origin_condition`]);
    /// starts out not holding.
    WhileConditionHolds,
}

/// A configured network.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct LocalRoute {
    /// The prefix (IPv4 or IPv6).
    pub prefix: IpNet,
    /// When to announce it.
    pub condition: OriginCondition,
    /// Communities to attach.
    pub communities: Vec<Community>,
    /// MULTI_EXIT_DISC to attach.
    pub med: Option<u32>,
}

impl LocalRoute {
    /// An always-announced route with no communities.
    pub fn new(prefix: IpNet) -> Self {
        LocalRoute {
            prefix: prefix.trunc(),
            condition: OriginCondition::Always,
            communities: Vec::new(),
            med: None,
        }
    }

    fn attrs(&self) -> PathAttrs {
        // ORIGIN IGP and an empty AS_PATH (RFC 4271 §5.1.2: the originating speaker's own
        // AS is added when advertising to an external peer).
        let mut v = vec![
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::AsPath(AsPath::default())),
        ];
        if let Some(m) = self.med {
            v.push(Attribute::new(AttrValue::Med(m)));
        }
        if !self.communities.is_empty() {
            let mut c = self.communities.clone();
            c.sort();
            c.dedup();
            v.push(Attribute::new(AttrValue::Communities(c)));
        }
        let raw = Canonicalizer::new().canonical_attributes(&v).to_vec();
        let nh = match self.prefix {
            IpNet::V4(_) => NextHopAddr::LOCAL_V4,
            IpNet::V6(_) => NextHopAddr::LOCAL_V6,
        };
        PathAttrs::from_canonical(&raw, nh)
    }
}

#[derive(Default, Debug)]
pub(crate) struct LocalRoutes {
    routes: HashMap<IpNet, (LocalRoute, bool)>,
}

impl Rib {
    /// Starts originating `route` (replacing any earlier configuration of the prefix).
    pub fn originate(&mut self, route: LocalRoute) -> Vec<Change> {
        let prefix = route.prefix.trunc();
        let holds = match self.local.routes.get(&prefix) {
            Some((_, h)) => *h,
            None => route.condition == OriginCondition::Always,
        };
        let holds = holds || route.condition == OriginCondition::Always;
        self.local.routes.insert(prefix, (route, holds));
        self.refresh_local(prefix)
    }

    /// Stops originating the prefix.
    pub fn stop_originating(&mut self, prefix: IpNet) -> Vec<Change> {
        let prefix = prefix.trunc();
        let mut changes = Vec::new();
        if self.local.routes.remove(&prefix).is_some() {
            self.set_local_path(prefix, None, &mut changes);
        }
        changes
    }

    /// Tells the RIB whether the condition of a conditionally originated prefix holds
    /// (e.g. the prefix appeared in or left the kernel table).
    pub fn set_origin_condition(&mut self, prefix: IpNet, holds: bool) -> Vec<Change> {
        let prefix = prefix.trunc();
        match self.local.routes.get_mut(&prefix) {
            Some((r, h)) => {
                *h = holds || r.condition == OriginCondition::Always;
                self.refresh_local(prefix)
            }
            None => Vec::new(),
        }
    }

    /// The configured local routes.
    pub fn local_routes(&self) -> impl Iterator<Item = &LocalRoute> {
        self.local.routes.values().map(|(r, _)| r)
    }

    fn refresh_local(&mut self, prefix: IpNet) -> Vec<Change> {
        let mut changes = Vec::new();
        let attrs = match self.local.routes.get(&prefix) {
            Some((r, true)) => Some(r.attrs()),
            _ => None,
        };
        self.set_local_path(prefix, attrs, &mut changes);
        changes
    }
}
