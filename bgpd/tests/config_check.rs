//! `bgpd check` on files: every example is accepted, every bad configuration in
//! `tests/configs/` is refused with exactly the rule IDs and lines its header announces.
//!
//! A bad file starts with one or more lines `# expect: error RULE-ID line N` (or
//! `# expect: warning ...`). Every listed diagnostic must be reported, and every error
//! reported must be listed; unlisted warnings are allowed.

use std::path::{Path, PathBuf};

use bgpd::config::{Severity, check_file};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn config_examples_are_accepted_without_errors() {
    let examples = files(&root().join("examples"));
    assert!(
        examples.len() >= 7,
        "expected the seven examples, found {examples:?}"
    );
    for path in examples {
        match check_file(&path) {
            Ok((config, report)) => {
                assert!(report.is_ok());
                let text = std::fs::read_to_string(&path).unwrap();
                // A warning is only acceptable when the file explains it.
                for w in report.warnings() {
                    assert!(
                        text.contains(w.rule),
                        "{}: unexplained warning:\n{w}",
                        path.display()
                    );
                }
                assert!(
                    !config.resolve().is_empty(),
                    "{}: no session resolved",
                    path.display()
                );
            }
            Err(report) => panic!("{} refused:\n{}", path.display(), report.render()),
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Expect {
    severity: Severity,
    rule: String,
    line: u32,
}

fn expectations(text: &str) -> Vec<Expect> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect:"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let [sev, rule, "line", n] = w.as_slice() else {
                panic!("bad expect line: {l}");
            };
            Expect {
                severity: match *sev {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    s => panic!("bad severity {s}"),
                },
                rule: (*rule).to_owned(),
                line: n.parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn config_bad_files_are_refused_with_their_rules_and_lines() {
    let bad = files(&root().join("bgpd/tests/configs"));
    assert!(
        bad.len() >= 15,
        "at least 15 bad configurations, found {}",
        bad.len()
    );
    let mut failures = Vec::new();
    for path in &bad {
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{}: no `# expect:` line",
            path.display()
        );
        let report = match check_file(path) {
            Ok((_, r)) => r,
            Err(r) => r,
        };
        assert!(!report.is_ok(), "{} was accepted", path.display());
        let got: Vec<Expect> = report
            .diagnostics()
            .iter()
            .map(|d| Expect {
                severity: d.severity,
                rule: d.rule.to_owned(),
                line: d.line,
            })
            .collect();
        let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
        let extra: Vec<_> = got
            .iter()
            .filter(|g| g.severity == Severity::Error && !expected.contains(g))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "{}: missing {missing:?}, unexpected {extra:?}\n{}",
                path.display(),
                report.render()
            ));
        }
        // Every diagnostic names the file and renders on one line.
        for d in report.diagnostics() {
            assert_eq!(d.file, path.display().to_string());
            assert!(!d.to_string().contains('\n'));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn config_missing_file_is_a_diagnostic() {
    let r = check_file(Path::new("/nonexistent/bgpd.toml")).unwrap_err();
    assert_eq!(r.errors().next().unwrap().rule, "CFG-IO");
}
