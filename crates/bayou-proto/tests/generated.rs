//! The checked-in generated code matches the `.proto` files.
//!
//! Regenerate after editing a `.proto`: `BAYOU_REGENERATE=1 cargo test -p bayou-proto`.

use std::path::Path;

#[test]
fn generated_code_matches_the_protos() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile_with_config(
            config,
            &[
                root.join("proto/bayou/v1/bayou.proto"),
                root.join("proto/bayou/v1/worker.proto"),
            ],
            &[root.join("proto")],
        )
        .unwrap();
    let fresh = std::fs::read_to_string(out.path().join("bayou.v1.rs")).unwrap();
    let checked_in_path = root.join("src/gen/bayou.v1.rs");
    if std::env::var_os("BAYOU_REGENERATE").is_some() {
        std::fs::write(&checked_in_path, &fresh).unwrap();
    }
    let checked_in = std::fs::read_to_string(&checked_in_path).unwrap_or_default();
    assert!(
        fresh == checked_in,
        "src/gen/bayou.v1.rs is stale: run `BAYOU_REGENERATE=1 cargo test -p bayou-proto` and commit it"
    );
}
