//! The protocol between bayou and the in-sandbox runner (`python/runner/bayou_runner.py`):
//! a [`Request`] written to `request.json` before the process starts, a [`Reply`] it writes to
//! `result.json` before it exits. Typed on this side; the runner's tests pin its side. A warm
//! start sends a [`ZygoteCall`] to the environment's zygote and reads [`ZygoteReply`] lines.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the runner is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) project_dir: PathBuf,
    /// The model's file, relative to `project_dir`.
    pub(crate) file: PathBuf,
    pub(crate) function: String,
    pub(crate) node: String,
    pub(crate) kind: Kind,
    /// Each argument's input table.
    pub(crate) inputs: BTreeMap<String, InputFile>,
    /// Parameter values by argument (a secret's plaintext: only this file holds it).
    pub(crate) params: BTreeMap<String, serde_json::Value>,
    /// Where a model writes its output table (Arrow IPC).
    pub(crate) output: PathBuf,
    /// Where the runner writes its [`Reply`].
    pub(crate) result: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Model,
    Expectation,
}

/// An input: an Arrow IPC file to map, and the columns to keep of it (`None`: all).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InputFile {
    pub(crate) path: PathBuf,
    pub(crate) columns: Option<Vec<String>>,
}

/// What the runner reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// Rows of a model's output.
    #[serde(default)]
    pub(crate) rows: Option<u64>,
    /// An expectation's verdict, and why it failed.
    #[serde(default)]
    pub(crate) passed: Option<bool>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    /// The function's failure (`TypeError: ...`).
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Wall-clock seconds at each phase: `started`, `imported`, `loaded`, `mapped`, `called`,
    /// `written`.
    #[serde(default)]
    pub(crate) marks: BTreeMap<String, f64>,
}

/// One call to a zygote (`python/runner/bayou_zygote.py`), a JSON line sent with two file
/// descriptors: the call's stdout and stderr.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ZygoteCall {
    /// The runner's [`Request`] file; only the sandboxed child reads it.
    pub(crate) request: PathBuf,
    /// Where the call starts (its output directory).
    pub(crate) cwd: PathBuf,
    /// Its sandbox; `None` runs it unsandboxed (`BAYOU_SANDBOX=off`).
    pub(crate) sandbox: Option<SandboxSpec>,
    /// The `cgroup.procs` files the child joins before it runs anything.
    pub(crate) cgroups: Vec<PathBuf>,
}

/// What a sandboxed call sees: these paths where they are, nothing else of the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SandboxSpec {
    pub(crate) read_only: Vec<PathBuf>,
    /// How many of `read_only`, from the first, every call of the interpreter sees (the
    /// system's, the environment's and the runner's directories): a zygote may bind those in a
    /// child made ahead of the call.
    #[serde(default)]
    pub(crate) fixed: usize,
    pub(crate) writable: Vec<PathBuf>,
    pub(crate) internet: bool,
}

/// A zygote's answer: `pid` once the call started (or `error`), then its wait `status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ZygoteReply {
    #[serde(default)]
    pub(crate) pid: Option<i32>,
    #[serde(default)]
    pub(crate) status: Option<i32>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_what_the_runner_reads() {
        let request = Request {
            project_dir: "/p".into(),
            file: "models.py".into(),
            function: "f".into(),
            node: "f".into(),
            kind: Kind::Expectation,
            inputs: BTreeMap::from([(
                "data".to_string(),
                InputFile {
                    path: "/x/in.arrow".into(),
                    columns: Some(vec!["a".into()]),
                },
            )]),
            params: BTreeMap::new(),
            output: "/x/out.arrow".into(),
            result: "/x/result.json".into(),
        };
        let v = serde_json::to_value(&request).unwrap();
        assert_eq!(v["kind"], "expectation");
        assert_eq!(v["inputs"]["data"]["path"], "/x/in.arrow");
        assert_eq!(v["inputs"]["data"]["columns"][0], "a");
        let reply: Reply = serde_json::from_str(
            r#"{"passed": false, "reason": "why", "marks": {"started": 1.5}}"#,
        )
        .unwrap();
        assert_eq!(
            (reply.passed, reply.reason.as_deref()),
            (Some(false), Some("why"))
        );
        assert_eq!(reply.marks["started"], 1.5);
    }
}
