//! The `bgpd` command.
fn main() {
    eprintln!("bgpd: the daemon arrives with issue 5");
    std::process::exit(2);
}
