//! `bayou-bench`: measures bayou and a peer in the same run and prints both with their ratio.
//!
//! Entry point: `main`, with one subcommand per benchmark (see `bench/run.sh`). The peers that
//! live outside Rust (DuckDB, pyiceberg) are driven by `bench/run.sh`; this binary prints JSON
//! lines (`-- json`) so the script can put figures side by side.

#![expect(clippy::print_stdout, reason = "a benchmark binary reports on stdout")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bayou_catalog::{
    Catalog, CommitRequest, MAIN_BRANCH, Operation, RefKind, SqlStore, TableState,
};
use bayou_types::TableKey;

fn state(i: usize) -> TableState {
    TableState {
        metadata_location: format!("s3://bench/tables/t{i}/metadata/00001.metadata.json"),
        snapshot_id: Some(i as i64),
    }
}

fn put(name: String, i: usize) -> CommitRequest {
    CommitRequest {
        operations: vec![Operation::Put {
            key: TableKey::new("bayou", name).expect("valid name"),
            state: state(i),
        }],
        message: "bench".into(),
        author: "bench".into(),
        ..Default::default()
    }
}

mod flight;
mod runtime;

/// The same allocator as the `bayou` binary, so the engine is measured as users run it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A figure with as many decimals as it needs to show three significant digits or so.
fn figure(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        a if a >= 0.01 => format!("{v:.3}"),
        _ => format!("{v:.4}"),
    }
}

fn report(name: &str, ours: f64, peer_name: &str, peer: f64, unit: &str, higher_is_better: bool) {
    let ratio = if higher_is_better {
        ours / peer
    } else {
        peer / ours
    };
    println!(
        "{name:<44} bayou {:>10} {unit:<5} | {peer_name:<36} {:>10} {unit:<5} | bayou is {ratio:.2}x {}",
        figure(ours),
        figure(peer),
        if ratio >= 1.0 { "better" } else { "worse" }
    );
    println!(
        "JSON {}",
        serde_json::json!({"bench": name, "bayou": ours, "peer": peer_name, "peer_value": peer, "unit": unit, "ratio": ratio})
    );
}

/// Commits per second on one branch: bayou's catalog (tree update + compare-and-swap of the
/// head) against the floor of its storage engine, one bare SQLite upsert transaction per commit.
fn commits(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let catalog = block_on(Catalog::open_sqlite(&dir.path().join("catalog.db")))?;
    let start = Instant::now();
    for i in 0..n {
        block_on(catalog.commit(MAIN_BRANCH, put(format!("t{}", i % 100), i)))?;
    }
    let ours = n as f64 / start.elapsed().as_secs_f64();

    let conn = rusqlite::Connection::open(dir.path().join("floor.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE pointers (name TEXT PRIMARY KEY, location TEXT NOT NULL);
         CREATE TABLE heads (branch TEXT PRIMARY KEY, head INTEGER NOT NULL);
         INSERT INTO heads VALUES ('main', 0);",
    )?;
    let start = Instant::now();
    for i in 0..n {
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO pointers VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET location = excluded.location",
            rusqlite::params![format!("t{}", i % 100), state(i).metadata_location],
        )?;
        tx.execute("UPDATE heads SET head = head + 1 WHERE branch = 'main'", [])?;
        tx.commit()?;
    }
    let floor = n as f64 / start.elapsed().as_secs_f64();
    report(
        "commits/s on one branch (catalog)",
        ours,
        "bare SQLite upsert+head txn",
        floor,
        "commit/s",
        true,
    );
    Ok(())
}

fn best_of<F: FnMut() -> anyhow::Result<()>>(runs: usize, mut f: F) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// Branch creation and table lookup with `tables` tables. Peers: a catalog that copies its
/// table list into each branch (branch create = copy N rows), and a bare indexed SQLite lookup.
fn ten_thousand_tables(tables: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let catalog = block_on(Catalog::open_sqlite(&dir.path().join("c.db")))?;
    // Load the tables in commits of 500.
    for chunk in (0..tables).collect::<Vec<_>>().chunks(500) {
        let ops = chunk
            .iter()
            .map(|&i| Operation::Put {
                key: TableKey::new("bayou", format!("t{i}")).expect("valid"),
                state: state(i),
            })
            .collect();
        block_on(catalog.commit(
            MAIN_BRANCH,
            CommitRequest {
                operations: ops,
                message: "load".into(),
                author: "bench".into(),
                ..Default::default()
            },
        ))?;
    }
    assert_eq!(
        block_on(catalog.list_tables(&block_on(catalog.resolve(MAIN_BRANCH))?.commit))?.len(),
        tables
    );
    let branches = 200;
    let mut i = 0;
    let ours = best_of(3, || {
        for _ in 0..branches {
            block_on(catalog.create_ref(&format!("b{i}"), RefKind::Branch, MAIN_BRANCH))?;
            i += 1;
        }
        Ok(())
    })?;
    let ours_branch_us = ours.as_secs_f64() * 1e6 / branches as f64;

    let conn = rusqlite::Connection::open(dir.path().join("copying.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(
        "CREATE TABLE entries (branch TEXT, name TEXT, location TEXT, PRIMARY KEY (branch, name));",
    )?;
    {
        let tx = conn.unchecked_transaction()?;
        for t in 0..tables {
            tx.execute(
                "INSERT INTO entries VALUES ('main', ?1, ?2)",
                rusqlite::params![format!("t{t}"), state(t).metadata_location],
            )?;
        }
        tx.commit()?;
    }
    let copies = 20;
    let mut j = 0;
    let peer = best_of(3, || {
        for _ in 0..copies {
            conn.execute(
                "INSERT INTO entries SELECT ?1, name, location FROM entries WHERE branch = 'main'",
                [format!("c{j}")],
            )?;
            j += 1;
        }
        Ok(())
    })?;
    let peer_branch_us = peer.as_secs_f64() * 1e6 / copies as f64;
    report(
        &format!("branch create with {tables} tables"),
        ours_branch_us,
        "copy-the-table-list catalog",
        peer_branch_us,
        "us",
        false,
    );

    // Lookups of spread-out tables at a branch head, through a freshly opened catalog whose
    // node cache fills as it goes (the first lookups read SQLite).
    let lookups = 20_000;
    let fresh = block_on(Catalog::new(Arc::new(block_on(SqlStore::open_sqlite(
        &dir.path().join("c.db"),
    ))?)))?;
    let head = block_on(fresh.resolve("b0"))?.commit;
    let keys: Vec<TableKey> = (0..lookups)
        .map(|k| TableKey::new("bayou", format!("t{}", (k * 7919) % tables)).expect("valid"))
        .collect();
    let start = Instant::now();
    for key in &keys {
        if block_on(fresh.get_table(&head, key))?.is_none() {
            bail!("table {key} missing");
        }
    }
    let ours_lookup_us = start.elapsed().as_secs_f64() * 1e6 / lookups as f64;
    let mut stmt =
        conn.prepare_cached("SELECT location FROM entries WHERE branch = 'main' AND name = ?1")?;
    let start = Instant::now();
    for key in &keys {
        let _: String = stmt.query_row([&key.name], |r| r.get(0))?;
    }
    let peer_lookup_us = start.elapsed().as_secs_f64() * 1e6 / lookups as f64;
    report(
        &format!("table lookup at a ref with {tables} tables"),
        ours_lookup_us,
        "bare indexed SQLite SELECT",
        peer_lookup_us,
        "us",
        false,
    );
    Ok(())
}

/// The lake at `path` (a directory or s3:// URI), committing as `bench`.
pub(crate) fn open_lake(path: &str) -> anyhow::Result<bayou_lake::Lake> {
    Ok(block_on(bayou_lake::Lake::open(
        &bayou_lake::LakeLocation::parse(path)?,
        &bayou_lake::LakeSettings {
            author: "bench".into(),
            catalog: std::env::var("BAYOU_CATALOG").ok(),
            catalogs_dir: std::env::temp_dir().join("bayou-bench-catalogs"),
        },
    ))?)
}

/// Times `bayou`'s in-process query engine on the queries in `bench/queries/*.sql`, best of
/// `runs`, and prints one JSON line per query (the DuckDB side runs in `bench/run.sh`).
/// Times each `.sql` file of `dir` at `main` (best of `runs`); with `out`, writes each
/// query's answer there as `NAME.arrow` (Arrow IPC) for a row-by-row check against a peer's.
fn queries(lake: &str, dir: &str, runs: usize, out: Option<&str>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let lake = open_lake(lake)?;
    let engine = bayou_sql::QueryEngine::new(lake);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {dir}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for path in files {
        let sql = std::fs::read_to_string(&path)?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("query")
            .to_string();
        let mut answer = vec![];
        let best = best_of(runs, || {
            answer = rt.block_on(async { engine.query("main", &sql).await?.collect().await })?;
            Ok(())
        })
        .with_context(|| format!("query {}", path.display()))?;
        let rows = answer.iter().map(|b| b.num_rows()).sum::<usize>();
        if let (Some(out), Some(first)) = (out, answer.first()) {
            let file = std::fs::File::create(format!("{out}/{name}.arrow"))?;
            let mut writer = arrow::ipc::writer::FileWriter::try_new(file, &first.schema())?;
            for batch in &answer {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        println!(
            "JSON {}",
            serde_json::json!({"query": name, "seconds": best.as_secs_f64(), "rows": rows})
        );
    }
    Ok(())
}

/// The benchmarks are plain sequential code; the catalog and the lake are async.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    });
    RUNTIME.block_on(future)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("commits") => commits(args.get(1).map_or(Ok(2000), |n| n.parse())?),
        Some("tables") => ten_thousand_tables(args.get(1).map_or(Ok(10_000), |n| n.parse())?),
        Some("queries") => {
            let (Some(lake), Some(dir)) = (args.get(1), args.get(2)) else {
                bail!("usage: bayou-bench queries LAKE QUERY_DIR [RUNS [ANSWERS_DIR]]");
            };
            let runs = args.get(3).map_or(Ok(3), |n| n.parse())?;
            queries(lake, dir, runs, args.get(4).map(String::as_str))
        }
        Some("handoff") => {
            let (Some(lake), Some(python), Some(repo)) = (args.get(1), args.get(2), args.get(3))
            else {
                bail!("usage: bayou-bench handoff LAKE PYTHON REPO [RUNS]");
            };
            runtime::handoff(
                lake,
                python,
                std::path::Path::new(repo),
                args.get(4).map_or(Ok(3), |n| n.parse())?,
            )
        }
        Some("envs") => {
            let (Some(python), Some(package), Some(version)) =
                (args.get(1), args.get(2), args.get(3))
            else {
                bail!("usage: bayou-bench envs PYTHON PACKAGE VERSION");
            };
            runtime::envs(python, package, version)
        }
        Some("exchange-file") => {
            let (Some(lake), Some(out)) = (args.get(1), args.get(2)) else {
                bail!("usage: bayou-bench exchange-file LAKE OUT");
            };
            flight::exchange_file(lake, std::path::Path::new(out))
        }
        Some("serve-output") => {
            let (Some(file), Some(listen)) = (args.get(1), args.get(2)) else {
                bail!("usage: bayou-bench serve-output FILE HOST:PORT");
            };
            flight::serve(std::path::Path::new(file), listen)
        }
        Some("pull-output") => {
            let (Some(server), Some(dest)) = (args.get(1), args.get(2)) else {
                bail!("usage: bayou-bench pull-output HOST:PORT DEST [RUNS]");
            };
            let runs = args.get(3).map_or(Ok(3), |n| n.parse())?;
            flight::pull(server, std::path::Path::new(dest), runs)
        }
        _ => bail!(
            "usage: bayou-bench commits [N] | tables [N] | queries LAKE QUERY_DIR [RUNS] | handoff LAKE PYTHON REPO [RUNS] | envs PYTHON PACKAGE VERSION | exchange-file LAKE OUT | serve-output FILE HOST:PORT | pull-output HOST:PORT DEST [RUNS]"
        ),
    }
}
