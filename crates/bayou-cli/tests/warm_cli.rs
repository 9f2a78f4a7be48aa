//! Warm starts: Python functions cloned from a zygote of their environment, shared across runs,
//! each call as clean as a new process, and the zygote gone with its environment.
//!
//! Embedded only: they look at the machine that runs the functions (its cache and processes),
//! which is the server's in remote mode.

mod common;

use common::{TestLake, s};
use serde_json::Value;

const YML: &str = "project:\n  name: warm\n";

/// Each model looks for what an earlier call could have left (in its module, /tmp, /dev/shm,
/// the environment), leaves the same, and fails if it found any.
const MODELS: &str = r#"
import glob, os
import bayou

SEEN = []

def leave_and_look(name):
    found = SEEN + glob.glob("/tmp/mark-*") + glob.glob("/dev/shm/mark-*")
    found += [k for k in os.environ if k.startswith("MARK_")]
    SEEN.append(name)
    os.environ["MARK_" + name] = "1"
    for d in ["/tmp", "/dev/shm"]:
        with open(f"{d}/mark-{name}", "w") as f:
            f.write(name)
    print(f"{name} found {len(found)} marks")
    assert not found, found

@bayou.model()
@bayou.python("3.11")
def first(d=bayou.Model("nums")):
    leave_and_look("first")
    return d

@bayou.model()
@bayou.python("3.11")
def second(d=bayou.Model("first")):
    leave_and_look("second")
    return d
"#;

/// The pids of the live zygotes under `cache`.
fn zygotes(cache: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(cache.join("zygotes")) else {
        return vec![];
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .trim()
                .to_string()
        })
        .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .collect()
}

#[test]
fn functions_start_warm_from_one_zygote_across_runs_and_no_call_sees_another() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n");
    let cache = t.path("private-cache");
    let dir = t.project(YML, &[("models.py", MODELS)]);
    let bayou = |args: &[&str]| {
        let out = t
            .cmd()
            .env("BAYOU_CACHE_DIR", &cache)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        (
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
            stderr,
        )
    };
    let mut seen = None;
    for _ in 0..2 {
        let (_, log) = bayou(&["run", "-p", s(&dir), "--no-cache"]);
        assert!(!log.contains("no warm start"), "{log}");
        assert!(
            log.contains("first found 0 marks") && log.contains("second found 0 marks"),
            "{log}"
        );
        // One zygote, and the same one for the second run.
        let live = zygotes(&cache);
        assert_eq!(live.len(), 1, "{live:?}");
        assert!(
            seen.is_none() || seen.as_ref() == live.first(),
            "{seen:?} then {live:?}"
        );
        seen = live.into_iter().next();
    }
    // Removing the environment stops its zygote.
    let pid = seen.unwrap();
    bayou(&["-O", "json", "env", "prune", "--all"]);
    let gone = std::process::Command::new("timeout")
        .args(["60", "tail", &format!("--pid={pid}"), "-f", "/dev/null"])
        .status()
        .unwrap();
    assert!(gone.success(), "the zygote {pid} outlived its environment");
    assert!(zygotes(&cache).is_empty());
}

#[test]
fn with_warm_starts_off_every_function_starts_a_new_interpreter() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let cache = t.path("private-cache");
    let dir = t.project(YML, &[("models.py", MODELS)]);
    let out = t
        .cmd()
        .env("BAYOU_CACHE_DIR", &cache)
        .env("BAYOU_WARM_STARTS", "off")
        .args(["run", "-p", s(&dir)])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("second found 0 marks"), "{log}");
    assert!(zygotes(&cache).is_empty());
}
