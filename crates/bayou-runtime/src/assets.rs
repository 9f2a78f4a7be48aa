//! The in-sandbox runner and the Python SDK, carried inside the binary and written to the cache
//! directory on first use, so `bayou` needs no installed Python package of its own.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

const FILES: &[(&str, &str)] = &[
    (
        "bayou_runner.py",
        include_str!("../../../python/runner/bayou_runner.py"),
    ),
    (
        "bayou_zygote.py",
        include_str!("../../../python/runner/bayou_zygote.py"),
    ),
    (
        "bayou_sandbox.py",
        include_str!("../../../python/runner/bayou_sandbox.py"),
    ),
    (
        "sdk/bayou/__init__.py",
        include_str!("../../../python/bayou/src/bayou/__init__.py"),
    ),
    (
        "sdk/bayou/standard_expectations.py",
        include_str!("../../../python/bayou/src/bayou/standard_expectations.py"),
    ),
    ("sdk/bayou/py.typed", ""),
    (
        "sdk/bauplan/__init__.py",
        include_str!("../../../python/runner/shim/bauplan/__init__.py"),
    ),
    (
        "sdk/bauplan/standard_expectations.py",
        include_str!("../../../python/runner/shim/bauplan/standard_expectations.py"),
    ),
];

/// A hash of the runner and SDK: part of every environment and node fingerprint.
pub fn runner_version() -> String {
    let mut h = Sha256::new();
    for (name, body) in FILES {
        h.update(name.as_bytes());
        h.update(body.as_bytes());
    }
    hex::encode(h.finalize())[..16].to_string()
}

/// Where the runner lives once written: `<cache>/runner/<version>/`.
pub(crate) struct Runner {
    pub(crate) script: PathBuf,
    /// The warm-start server beside it ([`crate::zygote`]).
    pub(crate) zygote: PathBuf,
    pub(crate) sdk: PathBuf,
}

pub(crate) fn install(cache: &Path) -> Result<Runner> {
    let dir = cache.join("runner").join(runner_version());
    let done = dir.join(".complete");
    if !done.exists() {
        let tmp = cache
            .join("runner")
            .join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        for (name, body) in FILES {
            let path = tmp.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::write(&path, body).map_err(|e| Error::io(&path, e))?;
        }
        std::fs::write(tmp.join(".complete"), "").map_err(|e| Error::io(&tmp, e))?;
        // Another process may have won the race; either copy is identical.
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    Ok(Runner {
        script: dir.join("bayou_runner.py"),
        zygote: dir.join("bayou_zygote.py"),
        sdk: dir.join("sdk"),
    })
}
