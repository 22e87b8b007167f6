//! The `bgpd` command: run the daemon, check a configuration, run the demo, query a running
//! daemon.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
    /// Run seed scenario S1 (two gateways, active and standby tunnel) over loopback.
    Demo,
    /// Validate a configuration file against the cloud providers' peering rules.
    Check {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo(),
        Command::Check { config } => check(&config),
    }
}

fn demo() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bgpd demo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bgpd::demo::run(|line| println!("{line}"))) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
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
