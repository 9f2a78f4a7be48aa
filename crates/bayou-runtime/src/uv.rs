//! Finding uv, which builds every function environment, or fetching it once.
//!
//! A user never has to install uv: when none is given, bayou uses its own copy under the cache
//! directory, fetched on first use from PyPI (uv's official wheel, pinned by version and SHA-256
//! in this file, so a tampered download is refused rather than run).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use object_store::ObjectStoreExt as _;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The uv bayou fetches when none is given.
pub const UV_VERSION: &str = "0.13.9";

/// uv's wheel for this machine: its path on files.pythonhosted.org and its SHA-256.
fn wheel() -> Option<(&'static str, &'static str)> {
    match std::env::consts::ARCH {
        "x86_64" => Some((
            "packages/3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
        )),
        "aarch64" => Some((
            "packages/57/15/94b6cd62ac3ff6550288328e8035288875197cbc183f51554b266a69877b/uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
            "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe",
        )),
        _ => None,
    }
}

const PYPI_FILES: &str = "https://files.pythonhosted.org";

/// bayou's own copy of uv under `cache_dir`.
pub(crate) fn bundled_path(cache_dir: &Path) -> PathBuf {
    cache_dir
        .join("tools")
        .join(format!("uv-{UV_VERSION}"))
        .join("uv")
}

/// The uv to use: `given` (which must exist), else bayou's own copy, fetched now if missing.
/// `progress` hears about a fetch before it starts.
pub async fn locate(
    given: Option<&Path>,
    cache_dir: &Path,
    progress: impl Fn(&str),
) -> Result<PathBuf> {
    let problem = |detail: String| Error::Tool { tool: "uv", detail };
    if let Some(path) = given {
        return match path.is_file() {
            true => Ok(path.to_path_buf()),
            false => Err(problem(format!(
                "{} does not exist\n  hint: point BAYOU_UV at a uv binary, or unset it and bayou fetches its own",
                path.display()
            ))),
        };
    }
    let target = bundled_path(cache_dir);
    if target.is_file() {
        return Ok(target);
    }
    let Some((path, sha256)) = wheel() else {
        return Err(problem(format!(
            "bayou has no uv to fetch for {}\n  hint: install uv (https://docs.astral.sh/uv/) and put it on PATH or in BAYOU_UV",
            std::env::consts::ARCH
        )));
    };
    progress(&format!(
        "fetching uv {UV_VERSION} from PyPI into {} (once)",
        target.display()
    ));
    let wheel = download(path)
        .await
        .map_err(|e| problem(format!("cannot fetch uv from {PYPI_FILES}: {e}\n  hint: check the network, or install uv and put it on PATH or in BAYOU_UV")))?;
    let digest = hex::encode(Sha256::digest(&wheel));
    if digest != sha256 {
        return Err(problem(format!(
            "the uv wheel from PyPI has SHA-256 {digest}, not the expected {sha256}: refusing to run it"
        )));
    }
    let binary = extract_uv(&wheel).map_err(problem)?;
    install(&target, &binary).map_err(|e| Error::io(&target, e))?;
    Ok(target)
}

async fn download(path: &str) -> std::result::Result<bytes::Bytes, object_store::Error> {
    let store = object_store::http::HttpBuilder::new()
        .with_url(PYPI_FILES)
        .build()?;
    store
        .get(&object_store::path::Path::from(path))
        .await?
        .bytes()
        .await
}

/// The `uv` executable inside the wheel (`uv-<version>.data/scripts/uv`).
fn extract_uv(wheel: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))
        .map_err(|e| format!("the uv wheel is no zip archive: {e}"))?;
    let name = format!("uv-{UV_VERSION}.data/scripts/uv");
    let mut file = archive
        .by_name(&name)
        .map_err(|e| format!("the uv wheel has no {name}: {e}"))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .map_err(|e| format!("cannot unpack {name}: {e}"))?;
    Ok(out)
}

/// Writes the binary next to its final place and renames it in, so a concurrent run never
/// sees half a file.
fn install(target: &Path, binary: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".uv-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, binary)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, target).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_given_uv_that_does_not_exist_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope/uv");
        let err = locate(Some(&missing), dir.path(), |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope/uv does not exist"), "{err}");
        assert!(err.contains("BAYOU_UV"), "{err}");
    }

    #[tokio::test]
    async fn bayous_own_copy_is_used_once_present() {
        let dir = tempfile::tempdir().unwrap();
        let own = bundled_path(dir.path());
        install(&own, b"#!/bin/sh\n").unwrap();
        let heard = std::sync::Mutex::new(vec![]);
        let found = locate(None, dir.path(), |m| {
            heard.lock().unwrap().push(m.to_string())
        })
        .await
        .unwrap();
        assert_eq!(found, own);
        assert!(heard.lock().unwrap().is_empty(), "nothing was fetched");
    }

    #[test]
    fn a_wheel_without_uv_inside_is_reported() {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        w.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.finish().unwrap();
        let err = extract_uv(buf.get_ref()).unwrap_err();
        assert!(err.contains("has no uv-0.13.9.data/scripts/uv"), "{err}");
    }
}
