//! The Python SDK's `bayou.Client` (and `bauplan.Client`) against the real `bayou server`
//! binary: `python/bayou/tests_client`, run by pytest with this build's binary.

mod common;

#[test]
fn the_python_client_drives_a_real_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = common::python()
        .current_dir(&root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/bayou/tests_client",
        ])
        .env("BAYOU_BIN", assert_cmd::cargo::cargo_bin("bayou"))
        .env("PYTHONPATH", root.join("python/bayou/src"))
        .env("BAYOU_CACHE_DIR", common::shared_cache().join("bayou"))
        .env("UV_CACHE_DIR", common::shared_cache().join("uv"))
        .env("BAYOU_GIT_BRANCH", "off")
        .env_remove("BAYOU_REMOTE")
        .env_remove("BAYOU_API_KEY")
        .env_remove("BAYOU_CATALOG")
        .output()
        .expect("run pytest");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
