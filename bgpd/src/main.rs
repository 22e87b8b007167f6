//! The `bgpd` command: run the daemon, check a configuration, run the demo, query a running
//! daemon.

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(&config),
        Command::Check { config } => check(&config),
        Command::Demo => demo(),
    }
}

fn runtime(what: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
    let Some(runtime) = runtime("run") else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(bgpd::daemon::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> ExitCode {
    let Some(runtime) = runtime("demo") else {
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
