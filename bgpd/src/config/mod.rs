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

/// [`check_file`] for a reload of a running daemon that started with `running`: the same
/// checks, plus the settings bgpd reads only at start, compared with what it runs.
///
/// * `CFG-RELOAD-IDENTITY` (error): `global.asn` or `global.router_id` differs. Sessions
///   and the RIB carry the local AS and BGP Identifier from start; a reload that applied
///   the rest of the file would restart sessions under the old identity, so the whole
///   reload is refused.
/// * `CFG-RELOAD-RESTART` (warning, one per field): `listen`, `port`, `threads`,
///   `control_socket`, `metrics`, `cluster_id`, `max_paths` or one of `fib.install`,
///   `fib.table`, `fib.protocol`, `fib.metric`, `fib.keep_on_graceful_restart` differs.
///   The rest of the file is applied; these keep their running values until bgpd
///   restarts. Because the comparison is with the running process, every later reload
///   warns again until then.
pub fn check_reload(path: &Path, running: &Config) -> Result<(Config, Report), Report> {
    let file = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(path) else {
        return check_file(path);
    };
    let (new, mut report) = check_str(&text, &file)?;
    let map = SourceMap::new(&text);
    let mut sink = Sink {
        file: &file,
        map: &map,
        report: Report::new(),
    };
    start_only_changes(running, &new, &mut sink);
    let extra = sink.report;
    let refused = !extra.is_ok();
    for d in extra.diagnostics() {
        report.push(d.clone());
    }
    report.sort();
    if refused {
        Err(report)
    } else {
        Ok((new, report))
    }
}

/// Reports the start-only settings of `new` that differ from `running` (see
/// [`check_reload`]).
fn start_only_changes(running: &Config, new: &Config, sink: &mut Sink<'_>) {
    let (r, n) = (&running.global, &new.global);
    if r.asn != n.asn {
        sink.error(
            "CFG-RELOAD-IDENTITY",
            "global.asn",
            format!(
                "the local AS cannot change while bgpd runs (running {}, file {}); nothing \
                 of this file was applied",
                r.asn, n.asn
            ),
            format!(
                "restart bgpd to run as AS {} (every session restarts), or put back {}",
                n.asn, r.asn
            ),
        );
    }
    if r.router_id != n.router_id {
        sink.error(
            "CFG-RELOAD-IDENTITY",
            "global.router_id",
            format!(
                "the BGP Identifier cannot change while bgpd runs (running {}, file {}); \
                 nothing of this file was applied",
                opt(&r.router_id),
                opt(&n.router_id)
            ),
            format!(
                "restart bgpd to use {} (every session restarts), or put back {}",
                opt(&n.router_id),
                opt(&r.router_id)
            ),
        );
    }
    fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
        v.as_ref().map_or("none".to_owned(), T::to_string)
    }
    let list = |v: &[std::net::IpAddr]| {
        let v: Vec<String> = v.iter().map(|a| format!("\"{a}\"")).collect();
        format!("[{}]", v.join(", "))
    };
    /// Both values shown, when they differ.
    fn differ<T: PartialEq + ?Sized>(
        was: &T,
        now: &T,
        show: impl Fn(&T) -> String,
    ) -> Option<(String, String)> {
        (was != now).then(|| (show(was), show(now)))
    }
    let (rf, nf) = (&r.fib, &n.fib);
    let fields = [
        ("listen", differ(&r.listen[..], &n.listen[..], list)),
        ("port", differ(&r.port, &n.port, u16::to_string)),
        ("threads", differ(&r.threads, &n.threads, u16::to_string)),
        (
            "control_socket",
            differ(&r.control_socket, &n.control_socket, |p| {
                p.display().to_string()
            }),
        ),
        ("metrics", differ(&r.metrics, &n.metrics, opt)),
        ("cluster_id", differ(&r.cluster_id, &n.cluster_id, opt)),
        (
            "max_paths",
            differ(&r.max_paths, &n.max_paths, u16::to_string),
        ),
        // The kernel route installer and the link watcher run with these from start;
        // taking a new table or protocol on reload would make the watcher judge
        // routes by other marks than the installer writes.
        (
            "fib.install",
            differ(&rf.install, &nf.install, bool::to_string),
        ),
        ("fib.table", differ(&rf.table, &nf.table, u32::to_string)),
        (
            "fib.protocol",
            differ(&rf.protocol, &nf.protocol, u8::to_string),
        ),
        ("fib.metric", differ(&rf.metric, &nf.metric, u32::to_string)),
        (
            "fib.keep_on_graceful_restart",
            differ(
                &rf.keep_on_graceful_restart,
                &nf.keep_on_graceful_restart,
                bool::to_string,
            ),
        ),
    ];
    for (field, change) in fields {
        if let Some((was, now)) = change {
            sink.warn(
                "CFG-RELOAD-RESTART",
                format!("global.{field}"),
                format!(
                    "read at start only: bgpd keeps running with {was} (the file says {now}); \
                     the rest of the file was applied"
                ),
                "restart bgpd to apply it",
            );
        }
    }
}

#[cfg(test)]
mod tests;
