//! [`Tools`]: what running Python needs from the machine (uv, the sandbox), found or fetched
//! before a run starts, so a missing one stops it before anything is created.

use std::collections::HashMap;
use std::path::PathBuf;

use bayou_project::{NodeKind, Project};

use crate::{
    EnvCache, Event, NodeReport, NodeStatus, OnEvent, Result, RunOptions, SandboxPolicy, sandbox,
    uv,
};

/// What running Python needs from the machine, checked before a run starts.
pub(crate) struct Tools {
    /// Whether any selected node is Python.
    pub(crate) python: bool,
    pub(crate) sandbox: sandbox::Sandbox,
    pub(crate) envs: EnvCache,
    /// The selected nodes that run in this process (none of them Python's when workers run
    /// those).
    here: Vec<bool>,
}

impl Tools {
    /// Finds (or fetches) uv and the sandbox when a node `selected` to run here is Python: a
    /// missing sandbox stops the run before it starts, unless the user turned it off.
    pub(crate) async fn prepare(
        project: &Project,
        selected: &[bool],
        options: &RunOptions,
        on_event: OnEvent<'_>,
    ) -> Result<Self> {
        let python = project
            .nodes
            .iter()
            .zip(selected)
            .any(|(n, s)| *s && !matches!(n.kind, NodeKind::Sql { .. }));
        let mut envs = EnvCache::new(&options.cache_dir);
        let here = selected.to_vec();
        if !python {
            return Ok(Self {
                python,
                sandbox: sandbox::Sandbox::new(&SandboxPolicy::Off)?,
                envs,
                here,
            });
        }
        let sandbox = sandbox::Sandbox::new(&options.sandbox)?;
        let uv = uv::locate(options.uv.as_deref(), &options.cache_dir, |message| {
            on_event(Event::Progress {
                message: message.to_string(),
            })
        })
        .await?;
        envs = envs.with_uv(uv);
        Ok(Self {
            python,
            sandbox,
            envs,
            here,
        })
    }

    /// The interpreter of each Python node selected to run here, its environment built if
    /// needed. The first that cannot be built stops here: its report says why (naming the
    /// model and the version).
    pub(crate) async fn environments(
        &self,
        project: &Project,
        on_event: OnEvent<'_>,
    ) -> std::result::Result<HashMap<String, PathBuf>, NodeReport> {
        let selected = &self.here;
        let mut pythons = HashMap::new();
        for (_, node) in project
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| selected[*i] && !matches!(n.kind, NodeKind::Sql { .. }))
        {
            match self
                .envs
                .python(&project.python_spec(node), &node.name)
                .await
            {
                Ok(env) => {
                    on_event(Event::EnvReady {
                        node: node.name.clone(),
                        env: env.clone(),
                    });
                    pythons.insert(node.name.clone(), env.python);
                }
                Err(e) => {
                    let mut report = NodeReport::new(node);
                    report.status = NodeStatus::Failed;
                    report.error = Some(e.to_string());
                    on_event(Event::NodeFinished {
                        report: Box::new(report.clone()),
                    });
                    return Err(report);
                }
            }
        }
        Ok(pythons)
    }
}
