//! `bgp-bench`: the end-to-end benchmark harness of issue 8.
//!
//! Starts a daemon under test on its own loopback range, connects N sink peers and one or
//! more injector peers (all speaking BGP through `bgp-wire`), streams the deterministic
//! `bench/tablegen` table as fast as the daemon takes it, and reports per run: the time until
//! every sink holds the full table, (scenario churn) until every sink has the re-announced
//! tenth, until every sink has seen it all withdrawn, and the daemon's CPU seconds
//! (utime + stime from /proc) and peak RSS (VmHWM). Runs of the daemons are interleaved so
//! background load hits them alike; the summary is the median per daemon with ratios to BIRD.
//!
//! Every wait is bounded (`--timeout`); the harness stops the daemons it started.

mod daemons;
mod peer;
mod procstat;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bgp_tablegen::{Table, TableSpec};
use bgp_wire::SessionParams;
use bytes::Bytes;
use clap::Parser;
use tokio::time::Instant;

use daemons::{Daemon, Topology};
use peer::SinkStats;
use table::Dress;

/// The scenarios of issue 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// (1) One eBGP injector, the table relayed to N eBGP sinks.
    Relay,
    /// (2) Route-reflector fan-out: one iBGP client injects, N iBGP clients receive.
    Rr,
    /// (3) Several eBGP injectors with the same (overlapping) full table: best-path churn.
    Multi,
    /// (4) After the full table, 10 % of the prefixes re-announced with new attributes.
    Churn,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Relay => "relay",
            Scenario::Rr => "rr",
            Scenario::Multi => "multi",
            Scenario::Churn => "churn",
        }
    }
    /// (prefixes, injectors, sinks) defaults.
    fn defaults(self) -> (usize, usize, usize) {
        match self {
            Scenario::Relay => (1_000_000, 1, 10),
            Scenario::Rr => (100_000, 1, 100),
            Scenario::Multi => (1_000_000, 10, 2),
            Scenario::Churn => (1_000_000, 1, 2),
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "bgp-bench",
    about = "End-to-end BGP daemon benchmark (issue 8)"
)]
struct Args {
    /// Daemons to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "bgpd")]
    daemons: Vec<Daemon>,
    /// Scenario.
    #[arg(long, value_enum, default_value = "relay")]
    scenario: Scenario,
    /// IPv4 prefixes in the table (attribute sets scale with it: 150k per 1M).
    #[arg(long)]
    prefixes: Option<usize>,
    /// Injector peers.
    #[arg(long)]
    injectors: Option<usize>,
    /// Sink peers.
    #[arg(long)]
    sinks: Option<usize>,
    /// Runs per daemon (the summary takes the median).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// This project's bgpd binary.
    #[arg(long, default_value = "target/release/bgpd")]
    bgpd: PathBuf,
    /// Worker threads for bgpd (`global.threads`); bgpd's default (1) when absent.
    #[arg(long)]
    bgpd_threads: Option<u16>,
    /// Where configs and daemon logs go.
    #[arg(long, default_value = "/tmp/bgp-bench")]
    workdir: PathBuf,
    /// Seconds allowed for each phase (session setup, full table, churn, withdrawal).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Append the summary table (Markdown) to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

/// One run's outcome.
#[derive(Clone, Debug, Default)]
struct RunResult {
    full_s: f64,
    churn_s: Option<f64>,
    withdraw_s: f64,
    cpu_s: f64,
    rss_mib: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bgp-bench: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bgp-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Plan {
    scenario: Scenario,
    prefixes: usize,
    injectors: usize,
    sinks: usize,
    timeout: Duration,
    announce: Vec<Vec<Bytes>>,
    churn: Vec<Bytes>,
    churn_count: usize,
    withdraw: Vec<Bytes>,
    bgpd_threads: Option<u16>,
}

async fn run(args: Args) -> Result<bool, String> {
    let (dp, di, ds) = args.scenario.defaults();
    let prefixes = args.prefixes.unwrap_or(dp);
    let injectors = args.injectors.unwrap_or(di).max(1);
    let sinks = args.sinks.unwrap_or(ds).max(1);
    if injectors > 250 || sinks > 250 {
        return Err("at most 250 injectors and 250 sinks".into());
    }
    let t = std::time::Instant::now();
    let spec = TableSpec {
        ipv4_prefixes: prefixes,
        ipv6_prefixes: 0,
        attr_sets: ((prefixes as f64) * 0.15).round().max(1.0) as usize,
        seed: TableSpec::full().seed,
    };
    let table = Table::generate(spec);
    let ibgp = args.scenario == Scenario::Rr;
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(!ibgp);
    let topo0 = Topology::new(Daemon::Bgpd, injectors, sinks, ibgp);
    let mut announce = Vec::new();
    for p in topo0.peers.iter().filter(|p| !p.sink) {
        let d = Dress {
            asn: p.asn,
            ibgp,
            churn: false,
        };
        announce.push(table::announcements(&table, &params, d, |_| true)?);
    }
    let (churn, churn_count) = if args.scenario == Scenario::Churn {
        let asn = topo0.peers.first().map_or(0, |p| p.asn);
        let d = Dress {
            asn,
            ibgp,
            churn: true,
        };
        let pick = |i: usize| i.is_multiple_of(10);
        let n = (0..table.ipv4.len()).filter(|&i| pick(i)).count();
        (table::announcements(&table, &params, d, pick)?, n)
    } else {
        (Vec::new(), 0)
    };
    let withdraw = table::withdrawals(&table, &params)?;
    eprintln!(
        "table: {} IPv4 prefixes, {} attribute sets, {:.1} MB of UPDATEs per injector (encoded in {:.1} s)",
        table.ipv4.len(),
        table.sets.len(),
        announce.first().map_or(0, |a| table::octets(a)) as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let plan = Plan {
        scenario: args.scenario,
        prefixes: table.ipv4.len(),
        injectors,
        sinks,
        timeout: Duration::from_secs(args.timeout),
        announce,
        churn,
        churn_count,
        withdraw,
        bgpd_threads: args.bgpd_threads,
    };
    drop(table);

    let bgpd_bin = std::fs::canonicalize(&args.bgpd).unwrap_or(args.bgpd.clone());
    let mut results: Vec<(Daemon, Vec<RunResult>, usize)> =
        args.daemons.iter().map(|&d| (d, Vec::new(), 0)).collect();
    for r in 1..=args.runs {
        for (daemon, ok, failed) in results.iter_mut() {
            let dir = args
                .workdir
                .join(format!("{}-{}-{r}", daemon.name(), plan.scenario.name()));
            let load = loadavg();
            match run_once(*daemon, &plan, &dir, &bgpd_bin).await {
                Ok(res) => {
                    println!(
                        "RESULT daemon={} scenario={} run={r} prefixes={} injectors={} sinks={} full_s={:.3} churn_s={} withdraw_s={:.3} cpu_s={:.2} peak_rss_mib={:.1} load_before={load} ok",
                        daemon.name(),
                        plan.scenario.name(),
                        plan.prefixes,
                        plan.injectors,
                        plan.sinks,
                        res.full_s,
                        res.churn_s.map_or("-".into(), |c| format!("{c:.3}")),
                        res.withdraw_s,
                        res.cpu_s,
                        res.rss_mib
                    );
                    ok.push(res);
                }
                Err(e) => {
                    println!(
                        "RESULT daemon={} scenario={} run={r} FAILED: {e} (logs in {})",
                        daemon.name(),
                        plan.scenario.name(),
                        dir.display()
                    );
                    *failed += 1;
                }
            }
        }
    }
    let md = summary(&plan, &results);
    println!("\n{md}");
    if let Some(path) = &args.markdown {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let _ = writeln!(f, "{md}");
    }
    Ok(results.iter().all(|(_, _, failed)| *failed == 0))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Waits until `done(stats)` holds for every sink, a sink fails, or the deadline passes.
async fn wait_all(
    stats: &[Arc<SinkStats>],
    deadline: Instant,
    what: &str,
    done: impl Fn(&SinkStats) -> bool,
) -> Result<(), String> {
    loop {
        if let Some(s) = stats.iter().find(|s| s.failed.load(Ordering::Acquire)) {
            let e = s
                .error
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .unwrap_or_default();
            return Err(format!("{what}: a sink failed: {e}"));
        }
        if stats.iter().all(|s| done(s)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let counts: Vec<String> = stats
                .iter()
                .map(|s| {
                    format!(
                        "{}/{}",
                        s.prefixes.load(Ordering::Relaxed),
                        s.marked.load(Ordering::Relaxed)
                    )
                })
                .collect();
            return Err(format!(
                "{what}: timed out; sinks hold (prefixes/marked) {}",
                counts.join(" ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn run_once(
    daemon: Daemon,
    plan: &Plan,
    dir: &std::path::Path,
    bgpd_bin: &std::path::Path,
) -> Result<RunResult, String> {
    let _ = std::fs::remove_dir_all(dir);
    let mut topo = Topology::new(
        daemon,
        plan.injectors,
        plan.sinks,
        plan.scenario == Scenario::Rr,
    );
    topo.bgpd_threads = plan.bgpd_threads;
    let running = daemons::launch(daemon, &topo, dir, bgpd_bin)?;
    let pid = running.child.id();
    let res = drive(daemon, plan, &topo, pid).await;
    let res = res.map_err(|e| {
        let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        format!("{e}; daemon log tail: {:?}", tail)
    });
    running.stop();
    res
}

async fn drive(
    daemon: Daemon,
    plan: &Plan,
    topo: &Topology,
    pid: u32,
) -> Result<RunResult, String> {
    let remote = std::net::SocketAddr::new(daemon.address().into(), daemon.port());
    let setup = Instant::now() + plan.timeout.min(Duration::from_secs(60));
    // Sinks first, so they are up before anything is announced.
    let mut set = tokio::task::JoinSet::new();
    for p in topo.peers.iter().filter(|p| p.sink) {
        let (a, asn) = (p.address, p.asn);
        set.spawn(async move { peer::establish(a, remote, asn, setup).await });
    }
    let mut stats = Vec::new();
    let expected = plan.prefixes;
    let track = plan.scenario == Scenario::Churn;
    let mut sink_tasks = Vec::new();
    while let Some(r) = set.join_next().await {
        let s = r.map_err(|e| format!("sink task: {e}"))??;
        let st = Arc::new(SinkStats::default());
        stats.push(Arc::clone(&st));
        sink_tasks.push(tokio::spawn(peer::sink(s, st, expected, track)));
    }
    let mut writers = Vec::new();
    let mut guards = Vec::new();
    let mut drains = Vec::new();
    for p in topo.peers.iter().filter(|p| !p.sink) {
        let s = peer::establish(p.address, remote, p.asn, setup).await?;
        if !s.params.four_octet_as {
            return Err("the daemon did not negotiate 4-octet AS".into());
        }
        writers.push(Arc::clone(&s.writer));
        guards.push(s.keepalive);
        drains.push(tokio::spawn(peer::drain(s.reader, s.buf)));
    }
    let u0 = procstat::usage(pid);

    // Phase 1: the full table.
    let t0 = Instant::now();
    let mut streams = Vec::new();
    for (w, chunks) in writers.iter().zip(&plan.announce) {
        let w = Arc::clone(w);
        let chunks = chunks.clone();
        streams.push(tokio::spawn(async move { peer::stream(&w, &chunks).await }));
    }
    let full = wait_all(&stats, t0 + plan.timeout, "full table", |s| {
        s.prefixes.load(Ordering::Acquire) as usize == expected
    })
    .await;
    for s in streams {
        s.await.map_err(|e| format!("injector: {e}"))??;
    }
    full?;
    let full_s = t0.elapsed().as_secs_f64();

    // Phase 2 (churn): a tenth re-announced with new attributes.
    let churn_s = if plan.scenario == Scenario::Churn {
        let t1 = Instant::now();
        if let Some(w) = writers.first() {
            peer::stream(w, &plan.churn).await?;
        }
        let n = plan.churn_count as u64;
        wait_all(&stats, t1 + plan.timeout, "churn", |s| {
            s.marked.load(Ordering::Acquire) == n
        })
        .await?;
        Some(t1.elapsed().as_secs_f64())
    } else {
        None
    };

    // Phase 3: everything withdrawn by every injector.
    let t2 = Instant::now();
    let mut streams = Vec::new();
    for w in &writers {
        let w = Arc::clone(w);
        let chunks = plan.withdraw.clone();
        streams.push(tokio::spawn(async move { peer::stream(&w, &chunks).await }));
    }
    let gone = wait_all(&stats, t2 + plan.timeout, "withdrawal", |s| {
        s.prefixes.load(Ordering::Acquire) == 0
    })
    .await;
    for s in streams {
        s.await.map_err(|e| format!("injector: {e}"))??;
    }
    gone?;
    let withdraw_s = t2.elapsed().as_secs_f64();
    let u1 = procstat::usage(pid);
    for t in sink_tasks.iter().chain(drains.iter()) {
        t.abort();
    }
    drop(guards);
    Ok(RunResult {
        full_s,
        churn_s,
        withdraw_s,
        cpu_s: u1.cpu_s - u0.cpu_s,
        rss_mib: u1.peak_rss_kib as f64 / 1024.0,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn summary(plan: &Plan, results: &[(Daemon, Vec<RunResult>, usize)]) -> String {
    type Row = (Daemon, f64, Option<f64>, f64, f64, f64, f64, usize, usize);
    let rows: Vec<Row> = results
        .iter()
        .filter_map(|(d, rs, failed)| {
            let m = |f: &dyn Fn(&RunResult) -> f64| median(rs.iter().map(f).collect());
            Some((
                *d,
                m(&|r| r.full_s)?,
                median(rs.iter().filter_map(|r| r.churn_s).collect()),
                m(&|r| r.withdraw_s)?,
                m(&|r| r.full_s + r.churn_s.unwrap_or(0.0) + r.withdraw_s)?,
                m(&|r| r.cpu_s)?,
                m(&|r| r.rss_mib)?,
                rs.len(),
                *failed,
            ))
        })
        .collect();
    let bird = rows.iter().find(|r| r.0 == Daemon::Bird).cloned();
    let ratio = |x: f64, b: Option<f64>| match b {
        Some(b) if b > 0.0 => format!("{:.2}×", x / b),
        _ => "—".into(),
    };
    let mut s = format!(
        "Scenario `{}`: {} prefixes, {} injector(s), {} sink(s); medians\n\n\
         | daemon | full table (s) | churn (s) | withdrawal (s) | wall total (s) | daemon CPU (s) | peak RSS (MiB) | wall ×BIRD | CPU ×BIRD | RSS ×BIRD | runs ok/failed |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        plan.scenario.name(),
        plan.prefixes,
        plan.injectors,
        plan.sinks
    );
    for r in &rows {
        s.push_str(&format!(
            "| {} | {:.2} | {} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {} | {} | {}/{} |\n",
            r.0.name(),
            r.1,
            r.2.map_or("—".into(), |c| format!("{c:.2}")),
            r.3,
            r.4,
            r.5,
            r.6,
            ratio(r.4, bird.as_ref().map(|b| b.4)),
            ratio(r.5, bird.as_ref().map(|b| b.5)),
            ratio(r.6, bird.as_ref().map(|b| b.6)),
            r.7,
            r.8
        ));
    }
    for (d, rs, failed) in results {
        if rs.is_empty() {
            s.push_str(&format!(
                "| {} | failed | | | | | | | | | 0/{failed} |\n",
                d.name()
            ));
        }
    }
    s
}
