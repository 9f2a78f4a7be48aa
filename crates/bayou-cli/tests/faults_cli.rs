//! The machine failing under a lake: a full disk fails a write whole, and the next write lands
//! once there is room. The disk is a real tmpfs of a few MB mounted for the test (root, as on
//! the CI machine).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestLake, s};
use serde_json::json;

/// A tmpfs of a given size mounted at a directory; unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a {size} tmpfs at {} needs root (CAP_SYS_ADMIN), as the CI machine has: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Gives the disk a new size, keeping what it holds.
    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// CSV of `rows` rows whose text barely compresses (xorshift digits).
fn incompressible_csv(rows: usize) -> String {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut body = String::from("id,code\n");
    for i in 0..rows {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (a, b) = (next(), next());
        writeln!(body, "{i},{a:016x}{b:016x}").unwrap();
    }
    body
}

#[test]
fn a_full_disk_under_the_lake_fails_a_write_whole_and_the_next_lands_once_there_is_room() {
    let t = TestLake::new();
    let disk = Tmpfs::mount(&t.lake(), "1m");
    t.table_from_csv("codes", "id,code\n1,a\n2,b\n");
    let head = t.json(&["branch", "ls"])[0]["head"].clone();
    // About 4 MB of Parquet: more than the disk has left.
    let big = t.csv("big.csv", &incompressible_csv(120_000));
    let err = t.fails(&["table", "import", "codes", "--search-uri", s(&big)]);
    assert!(
        err.contains("is full") && err.contains("the catalog was not changed"),
        "{err}"
    );
    // Nothing of it shows, and the lake is whole.
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], head);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM codes", "main"), json!(2));
    let check = t.json(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
    // Room again: the same write lands whole, and gc clears whatever the failed one left.
    disk.resize("64m");
    t.ok(&["table", "import", "codes", "--search-uri", s(&big)]);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM codes", "main"),
        json!(120_002)
    );
    t.json(&["gc", "--older-than", "0s"]);
    let check = t.json(&["lake", "check"]);
    assert_eq!(check["problems"], json!([]), "{check}");
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT code) FROM codes", "main"),
        json!(120_002)
    );
}
