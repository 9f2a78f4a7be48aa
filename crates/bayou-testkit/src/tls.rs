//! A self-signed certificate for `localhost` and `127.0.0.1`, as PEM files, for servers that
//! tests start with TLS.

use std::path::{Path, PathBuf};

/// Writes `cert.pem` and `key.pem` under `dir`; the certificate is its own CA (a client given
/// `cert.pem` as its CA trusts the server).
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert.pem");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key.pem");
    (cert, key)
}
