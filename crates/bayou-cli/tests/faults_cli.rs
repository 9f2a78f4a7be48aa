//! The machine's limits under a lake: a full disk fails a write whole, and the next write lands
//! once there is room (a real tmpfs of a few MB); an overwrite of one partition runs in a memory
//! cgroup smaller than its table. Both need root, as the CI machine has.

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

/// A memory cgroup of `bytes` (v2, or v1's memory controller); removed when dropped.
struct MemoryLimit {
    dir: PathBuf,
    v2: bool,
}

impl MemoryLimit {
    fn new(name: &str, bytes: u64) -> Self {
        let root = Path::new("/sys/fs/cgroup");
        let v2 = root.join("cgroup.controllers").exists();
        let dir = match v2 {
            true => root.join(name),
            false => root.join("memory").join(name),
        };
        let made = std::fs::create_dir_all(&dir).and_then(|()| {
            let (limit, swap) = match v2 {
                true => ("memory.max", "memory.swap.max"),
                false => ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
            };
            std::fs::write(dir.join(limit), bytes.to_string())?;
            let _ = std::fs::write(
                dir.join(swap),
                if v2 { "0".into() } else { bytes.to_string() },
            );
            Ok(())
        });
        made.unwrap_or_else(|e| {
            panic!(
                "a memory cgroup at {} needs root and cgroups, as the CI machine has: {e}",
                dir.display()
            )
        });
        Self { dir, v2 }
    }

    /// `cmd` run inside the cgroup (it joins before it starts).
    fn wrap(&self, cmd: &std::process::Command) -> std::process::Command {
        let mut wrapped = std::process::Command::new("sh");
        wrapped
            .arg("-c")
            .arg(format!(
                "echo $$ > '{}/cgroup.procs' && exec \"$@\"",
                self.dir.display()
            ))
            .arg("sh")
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => wrapped.env(key, v),
                None => wrapped.env_remove(key),
            };
        }
        wrapped
    }

    /// The most memory the cgroup's processes held at once.
    fn peak(&self) -> u64 {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemoryLimit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn overwrite_partitions_replaces_a_day_of_a_table_larger_than_the_runs_memory_limit() {
    const ROWS: u64 = 6_000_000;
    const LIMIT: u64 = 128 << 20;
    let t = TestLake::new();
    // A table of four 64-bit columns in 32 partitions: 192 MB as Arrow, half again the limit.
    let source = t.project_in(
        "source",
        "project:\n  name: source\n",
        &[
            (
                "src.py",
                &format!(
                    "import bayou, pyarrow as pa, pyarrow.compute as pc\n@bayou.model(materialization_strategy='REPLACE')\ndef src():\n    v = pa.array(range({ROWS}), type=pa.int64())\n    return pa.table({{'d': pc.bit_wise_and(v, 31), 'id': v, 'a': pc.multiply(v, 3), 'b': pc.cast(v, pa.float64())}})\n"
                ),
            ),
            (
                "wide.sql",
                "-- bayou: materialization_strategy=REPLACE\n-- bayou: partitioned_by=\"d\"\nSELECT d, id, a, b FROM src",
            ),
        ],
    );
    t.ok(&["run", "-p", s(&source)]);
    const { assert!(ROWS * 32 > LIMIT) };
    // Day 7 again, with new values: under the limit, only that day's rows are read or written.
    let one_day = t.project_in(
        "one_day",
        "project:\n  name: one_day\n",
        &[(
            "wide.sql",
            "-- bayou: materialization_strategy=OVERWRITE_PARTITIONS\n-- bayou: partitioned_by=\"d\"\n-- bayou: overwrite_filter=\"d = 7\"\nSELECT d, id, a * 0 AS a, b FROM src WHERE d = 7",
        )],
    );
    let limit = MemoryLimit::new(&format!("bayou-test-{}", std::process::id()), LIMIT);
    let mut run = t.std_cmd();
    run.args(["run", "-p"]).arg(&one_day);
    let out = limit.wrap(&run).output().unwrap();
    assert!(
        out.status.success(),
        "the overwrite ran out of its {} MB ({:?}): {}",
        LIMIT >> 20,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = limit.peak();
    assert!(peak > 0 && peak <= LIMIT, "peak {peak}");
    // Day 7 holds the new values, every other day its old ones.
    let by_day = t.json(&[
        "query",
        "SELECT d = 7 AS day7, COUNT(*) AS n, SUM(CASE WHEN a = 0 THEN 1 ELSE 0 END) AS zeroed FROM wide GROUP BY d = 7 ORDER BY day7",
    ]);
    let day7 = ROWS / 32;
    assert_eq!(
        by_day,
        json!([
            {"day7": false, "n": ROWS - day7, "zeroed": 1},
            {"day7": true, "n": day7, "zeroed": day7},
        ]),
        "row 0 has a = 0 in day 0"
    );
}

#[test]
fn a_full_shared_memory_directory_leaves_a_functions_output_on_disk_and_the_run_passes() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n");
    // Shared memory of 1 MB, far less than the function's 3.2 MB output.
    let exchange = Tmpfs::mount(&t.path("shm"), "1m");
    let dir = t.project(
        "project:\n  name: shm\n",
        &[
            (
                "m.py",
                "import bayou, pyarrow as pa\n@bayou.model()\ndef big(d=bayou.Model('nums')):\n    return pa.table({'n': pa.array(range(400_000), type=pa.int64())})\n",
            ),
            (
                "total.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT COUNT(*) AS n, SUM(n) AS s FROM big",
            ),
        ],
    );
    let record = t.json_of(t.cmd().env("BAYOU_EXCHANGE_DIR", &exchange.dir).args([
        "-O",
        "json",
        "run",
        "-p",
        s(&dir),
    ]));
    assert_eq!(common::node(&record, "big")["rows"], json!(400_000));
    let totals = t.json(&["query", "SELECT n, s FROM total"]);
    assert_eq!(totals, json!([{"n": 400_000, "s": 79_999_800_000_u64}]));
    // The run's files went with it.
    assert_eq!(std::fs::read_dir(&exchange.dir).unwrap().count(), 0);
}
