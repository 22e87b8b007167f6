//! The `bgpd` command: run the daemon, check a configuration, run the demo, query a running
//! daemon.

use bgpd::cli::ShowCommand;
use clap::{Parser, Subcommand};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bgpd",
    version,
    about = "BGP-4 daemon and route reflector for cloud VPN gateways"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// The TOML configuration.
        #[arg(long, short, default_value = "/etc/bgpd/bgpd.toml")]
        config: PathBuf,
    },
    /// Validate a configuration file against the cloud providers' peering rules.
    Check {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run seed scenario S1 (two gateways, active and standby tunnel) over loopback.
    Demo,
    /// Ask a running daemon (over its control socket).
    Show {
        #[command(subcommand)]
        what: Show,
        /// Print JSON instead of a table.
        #[arg(long, global = true)]
        json: bool,
        /// The daemon's control socket.
        #[arg(long, global = true, default_value = bgpd::control::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
}

#[derive(Subcommand)]
enum Show {
    /// Every peer with its session state and prefix counts.
    Neighbors,
    /// One peer in detail.
    Neighbor {
        /// The peer's address.
        address: IpAddr,
    },
    /// The Loc-RIB: every best route, or all paths of one prefix.
    Rib {
        /// A prefix, e.g. 10.0.0.0/16.
        prefix: Option<IpNet>,
        /// Show every path and the best-path step each losing one lost at.
        #[arg(long)]
        explain: bool,
    },
    /// What is advertised to a peer.
    Advertised {
        /// The peer's address.
        peer: IpAddr,
    },
    /// VPN connections (tunnel pairs) and which tunnel carries the traffic.
    Connections,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(&config),
        Command::Check { config } => check(&config),
        Command::Demo => demo(),
        Command::Show { what, json, socket } => show(&socket, what, json),
    }
}

/// A runtime with `threads` workers, or tokio's default (one per CPU) for `None`.
fn runtime(what: &str, threads: Option<usize>) -> Option<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n.max(1));
    }
    match builder.enable_all().build() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("bgpd {what}: cannot start the runtime: {e}");
            None
        }
    }
}

fn run(config: &Path) -> ExitCode {
    // One readable line per event; RUST_LOG overrides the level (e.g. RUST_LOG=bgpd=debug).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    // Checked before the runtime starts: its worker count is in the file.
    let (cfg, report) = match bgpd::config::check_file(config) {
        Ok(checked) => checked,
        Err(report) => {
            eprintln!("bgpd: {}", report.render());
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = runtime("run", Some(usize::from(cfg.global.threads))) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(bgpd::daemon::run(config, cfg, &report)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> ExitCode {
    let Some(runtime) = runtime("demo", None) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(bgpd::demo::run(|line| println!("{line}"))) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &Path) -> ExitCode {
    match bgpd::config::check_file(path) {
        Ok((_, report)) => {
            print!("{}", report.render());
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprint!("{}", report.render());
            ExitCode::FAILURE
        }
    }
}

fn show(socket: &Path, what: Show, json: bool) -> ExitCode {
    let what = match what {
        Show::Neighbors => ShowCommand::Neighbors,
        Show::Neighbor { address } => ShowCommand::Neighbor(address),
        Show::Rib { prefix, explain } => ShowCommand::Rib { prefix, explain },
        Show::Advertised { peer } => ShowCommand::Advertised(peer),
        Show::Connections => ShowCommand::Connections,
    };
    match bgpd::cli::show(socket, what, json) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bgpd show: {e}");
            ExitCode::FAILURE
        }
    }
}
