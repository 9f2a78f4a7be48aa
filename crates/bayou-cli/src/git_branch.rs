//! Code branch = data branch: a project inside a git checkout runs on the data branch named after
//! its git branch (`feat_1` -> `feat_1`, `main`/`master` -> `main`), created from the active
//! branch on first use. So a feature's code and its data stay apart from production alike.
//! `BAYOU_GIT_BRANCH=off` or `bayou config set git_branch off` turns it off; `-r` always wins.

use std::path::Path;
use std::process::Command;

/// The git branch checked out at `dir`, if `dir` is in a git work tree on a branch (not a
/// detached HEAD) and git is installed.
fn git_branch(dir: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["symbolic-ref", "--quiet", "--short", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// The data branch for the git branch `git`: itself, with `master` read as `main`.
fn data_branch_for(git: &str) -> &str {
    match git {
        "master" => "main",
        other => other,
    }
}

/// What a run of the project at `dir` targets when no `-r` is given: the data branch of its git
/// branch, if any. A name bayou cannot use as a branch is left alone, with a reason.
pub(crate) enum Target {
    /// Not in git, detached, or turned off: the active branch.
    None,
    /// This data branch.
    Branch(String),
    /// The git branch has no usable data branch name.
    Unusable { git: String, why: String },
}

/// The target for the project at `dir`; `enabled` is the setting (see `bayou config`).
pub(crate) fn target(dir: &Path, enabled: bool) -> Target {
    if !enabled {
        return Target::None;
    }
    let Some(git) = git_branch(dir) else {
        return Target::None;
    };
    let data = data_branch_for(&git);
    match bayou_types::validate_name("branch", data) {
        Ok(()) => Target::Branch(data.to_string()),
        Err(e) => Target::Unusable {
            git,
            why: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_and_main_are_main() {
        assert_eq!(data_branch_for("master"), "main");
        assert_eq!(data_branch_for("main"), "main");
        assert_eq!(data_branch_for("feat_1"), "feat_1");
    }
}
