//! Conventions §1: `bgp-fsm` is a pure library; tokio must not be in its dependency tree.

// Test helpers outside #[test] functions are not covered by clippy.toml's test
// allowances; a failing helper should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn bgp_fsm_does_not_depend_on_tokio() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "bgp-fsm",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("bgp-wire")),
        "{stdout}"
    );
    let tokio: Vec<&str> = stdout.lines().filter(|l| l.starts_with("tokio")).collect();
    assert!(tokio.is_empty(), "bgp-fsm depends on {tokio:?}:\n{stdout}");
}
