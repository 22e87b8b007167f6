//! `bgpd demo` (README command 1) runs and exits 0, and the in-process demo shows the
//! failover and the switch back.

use std::process::Command;

#[test]
fn demo_command_exits_zero_and_tells_the_story() {
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .arg("demo")
        .output()
        .expect("run bgpd demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bgpd demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "Gateway 1: 192.168.0.0/16  via tunnel 1 (active) (used), via tunnel 2 (standby) (standing by)",
        "Gateway 2: 10.0.0.0/16  via tunnel 1 (active) (used), via tunnel 2 (standby) (standing by)",
        "Gateway 1: 192.168.0.0/16  via tunnel 2 (standby) (used)",
        "Gateway 1 is back on tunnel 1",
        "Gateway 2 is back on tunnel 1",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_library_reports_both_transitions() {
    let report = bgpd::demo::run(|_| {}).await.expect("demo");
    // Both gateways moved to the standby tunnel, and both moved back.
    let lines = |needle: &str| report.output.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(lines("over tunnel 2 after"), 2, "{}", report.output);
    assert_eq!(lines("is back on tunnel 1 after"), 2, "{}", report.output);
    assert!(
        report.failover > std::time::Duration::ZERO
            && report.switchback > std::time::Duration::ZERO
    );
}
