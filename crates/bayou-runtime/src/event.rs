//! [`Event`]: what a run reports as it goes, in order: owned and serializable, so the same
//! stream can be printed by the CLI, stored with the run, or sent to a client over the wire.

use serde::{Deserialize, Serialize};

use crate::{EnvReady, NodeReport, PlanNode};

/// One thing a run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run has an id; `run_branch` is where it writes (`None` for a dry run): a run branch
    /// when `transaction`, else the target itself (`--no-transaction`).
    Started {
        run_id: String,
        run_branch: Option<String>,
        transaction: bool,
        plan: Vec<PlanNode>,
    },
    NodeStarted {
        node: String,
    },
    /// One line a function printed.
    Log {
        node: String,
        line: String,
        stderr: bool,
    },
    NodeFinished {
        report: Box<NodeReport>,
    },
    /// A node's environment is ready (`built`: it was built for it, just now).
    EnvReady {
        node: String,
        env: EnvReady,
    },
    Warning {
        message: String,
    },
    /// Long work the run is waiting on (fetching a tool).
    Progress {
        message: String,
    },
}

/// Receives [`Event`]s, in order; called from the run's task.
pub type OnEvent<'a> = &'a (dyn Fn(Event) + Sync);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_tagged_by_kind() {
        let e = Event::Log {
            node: "trips".into(),
            line: "hello".into(),
            stderr: false,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"event":"log","node":"trips","line":"hello","stderr":false}"#
        );
        let back: Event = serde_json::from_str(&text).unwrap();
        assert!(matches!(back, Event::Log { node, .. } if node == "trips"));
    }
}
