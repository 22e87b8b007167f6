//! Daemon CPU time and peak memory from /proc, summed over the process and its
//! descendants (OpenBGPD runs as three processes).

use std::fs;

/// Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) and peak resident set (KiB) of a process tree.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds.
    pub cpu_s: f64,
    /// Sum of VmHWM over the tree, KiB.
    pub peak_rss_kib: u64,
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = s.get(s.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn descendants(root: u32) -> Vec<u32> {
    let mut all: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            // Field 4 of stat (index 1 after the name) is the parent pid.
            if let Some(ppid) = stat_fields(pid)
                .and_then(|f| f.get(1).cloned())
                .and_then(|p| p.parse().ok())
            {
                all.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&p) = tree.get(i) {
        for &(c, pp) in &all {
            if pp == p && !tree.contains(&c) {
                tree.push(c);
            }
        }
        i += 1;
    }
    tree
}

/// Reads the usage of `root` and its descendants now.
pub fn usage(root: u32) -> Usage {
    let mut u = Usage::default();
    for pid in descendants(root) {
        if let Some(f) = stat_fields(pid) {
            // utime and stime are fields 14 and 15 (indices 11 and 12 after the name).
            let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            u.cpu_s += (t(11) + t(12)) as f64 / TICKS;
        }
        if let Ok(s) = fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in s.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    u.peak_rss_kib += v
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0);
                }
            }
        }
    }
    u
}
