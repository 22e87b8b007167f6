//! Real `bgpd run` processes on loopback, queried with `bgpd show` over their control
//! sockets: sessions come up from configuration files, routes are exchanged, and SIGTERM
//! sends Cease / Administrative Shutdown with an RFC 9003 message before the process exits.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BGPD: &str = env!("CARGO_BIN_EXE_bgpd");

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, name: &str, toml: &str) -> Daemon {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, toml).unwrap();
    let check = Command::new(BGPD)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(BGPD)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon {
        child,
        socket: dir.join(format!("{name}.sock")),
    }
}

fn show(d: &Daemon, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(BGPD)
        .arg("show")
        .args(args)
        .arg("--json")
        .arg("--socket")
        .arg(&d.socket)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn wait_until(what: &str, mut ok: impl FnMut() -> Result<bool, String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        match ok() {
            Ok(true) => return,
            Ok(false) => last = "not yet".into(),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}: {last}");
}

#[allow(clippy::too_many_arguments)]
fn config(
    me: &str,
    asn: u32,
    port: u16,
    peer: &str,
    peer_asn: u32,
    peer_port: u16,
    net: &str,
    dir: &Path,
    name: &str,
) -> String {
    format!(
        r#"[global]
asn = {asn}
router_id = "{me}"
listen = ["{me}"]
port = {port}
control_socket = "{sock}"

[[peers]]
address = "{peer}"
asn = {peer_asn}
port = {peer_port}
local_address = "{me}"
description = "test peer"

[[networks]]
prefix = "{net}"
"#,
        sock = dir.join(format!("{name}.sock")).display()
    )
}

#[test]
fn two_daemons_exchange_routes_and_shut_down_with_a_message() {
    let dir = std::env::temp_dir().join(format!("bgpd-proc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = ("127.51.0.1", "127.51.0.2");
    let (pa, pb) = (free_port(a), free_port(b));
    let da = start(
        &dir,
        "a",
        &config(a, 65101, pa, b, 65102, pb, "10.101.0.0/16", &dir, "a"),
    );
    let mut db = start(
        &dir,
        "b",
        &config(b, 65102, pb, a, 65101, pa, "10.102.0.0/16", &dir, "b"),
    );

    wait_until("a's session with b", || {
        let n = show(&da, &["neighbors"])?;
        Ok(n[0]["state"] == "Established")
    });
    wait_until("a learns b's network", || {
        let r = show(&da, &["rib", "10.102.0.0/16"])?;
        Ok(r["routes"][0]["paths"][0]["from"] == b
            && r["routes"][0]["paths"][0]["as_path"][0] == 65102)
    });
    let adv = show(&db, &["advertised", a]).unwrap();
    assert_eq!(adv["prefixes"], serde_json::json!(["10.102.0.0/16"]));
    let text = Command::new(BGPD)
        .args(["show", "neighbors", "--socket"])
        .arg(&da.socket)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(b) && text.contains("Established"), "{text}");

    // SIGTERM to b: a hears Cease / Administrative Shutdown with b's message, and withdraws.
    let kill = Command::new("kill")
        .args(["-TERM", &db.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = db.child.wait().unwrap();
    assert!(status.success(), "bgpd exited with {status}");
    wait_until(
        "a sees the shutdown message and withdraws b's route",
        || {
            let n = show(&da, &["neighbors"])?;
            let err = n[0]["last_error"].as_str().unwrap_or("");
            let r = show(&da, &["rib", "10.102.0.0/16"])?;
            Ok(err.contains("Administrative Shutdown")
                && err.contains("bgpd is shutting down")
                && r["routes"].as_array().is_some_and(|v| v.is_empty()))
        },
    );
    drop(da);
    let _ = std::fs::remove_dir_all(&dir);
}
