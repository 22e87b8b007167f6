//! Configuration: TOML schema, cloud provider profiles and the `bgpd check` rules.
//!
//! * [`check_file`] / [`check_str`] parse a file, run every rule and return the
//!   [`Config`] with a [`Report`] of warnings, or the [`Report`] with the errors. Each
//!   [`Diagnostic`] names file, line, column, the dotted field path, a rule ID
//!   (docs/CONFIG.md lists them; provider rules keep the IDs of cloud-vpn-rules.md) and a
//!   fix.
//! * [`Config::resolve`] turns peers and VPN connections into the explicit sessions the
//!   runtime runs ([`ResolvedPeer`]), with provider defaults (timers, caps, addresses,
//!   tunnel roles) applied, so the runtime never needs to know about providers.
//!
//! ```
//! use bgpd::config::{check_str, schema::TunnelRole};
//!
//! let text = r#"
//! [global]
//! asn = 65530
//! router_id = "10.0.0.1"
//!
//! [[connections]]
//! name = "vpc1-vpc2"
//! provider = "alibaba"
//! peer_asn = 65500
//! networks = ["10.0.0.0/16"]
//! [[connections.tunnels]]
//! inside_cidr = "169.254.10.0/30"
//! [[connections.tunnels]]
//! inside_cidr = "169.254.20.0/30"
//! "#;
//! let (config, report) = check_str(text, "s1.toml").expect("no errors");
//! assert!(report.is_ok());
//! let peers = config.resolve();
//! assert_eq!(peers[0].address.to_string(), "169.254.10.2");
//! assert_eq!(peers[1].tunnel.as_ref().unwrap().role, TunnelRole::Standby);
//! ```

mod check;
mod diag;
pub mod policy;
pub mod profile;
mod resolve;
pub mod rules;
pub mod schema;

use std::path::Path;

pub use diag::{Diagnostic, Report, Severity};
pub use policy::PolicyDef;
pub use resolve::{MaxPrefixes, ResolvedPeer, TunnelPair};
pub use schema::Config;

use diag::{Sink, SourceMap};

/// Reads, parses and checks a configuration file.
///
/// `Ok` when there is no error (the report may hold warnings), `Err` with every problem
/// found otherwise. A syntax or type error stops before the rule checks (there is no
/// configuration to check), so it is the only diagnostic then.
pub fn check_file(path: &Path) -> Result<(Config, Report), Report> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => check_str(&text, &file),
        Err(e) => {
            let mut r = Report::new();
            r.push(Diagnostic {
                severity: Severity::Error,
                file,
                line: 0,
                column: 0,
                field: String::new(),
                rule: "CFG-IO",
                message: format!("cannot read the file: {e}"),
                fix: Some("check the path and its permissions".into()),
            });
            Err(r)
        }
    }
}

/// Parses and checks configuration text; `file` names it in diagnostics.
pub fn check_str(text: &str, file: &str) -> Result<(Config, Report), Report> {
    let map = SourceMap::new(text);
    if let Err(e) = toml::de::DeTable::parse(text) {
        let mut r = Report::new();
        r.push(diag::from_toml_error(&e, true, file, &map));
        return Err(r);
    }
    let config: Config = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => {
            let mut r = Report::new();
            r.push(diag::from_toml_error(&e, false, file, &map));
            return Err(r);
        }
    };
    let mut sink = Sink {
        file,
        map: &map,
        report: Report::new(),
    };
    check::check(&config, &mut sink);
    let mut report = sink.report;
    report.sort();
    if report.is_ok() {
        Ok((config, report))
    } else {
        Err(report)
    }
}

#[cfg(test)]
mod tests;
