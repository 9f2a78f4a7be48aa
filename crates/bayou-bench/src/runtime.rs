//! The function runtime's benchmarks: handing a table to a function, and environment updates.

use std::io::BufWriter;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use bayou_project::PythonSpec;
use bayou_runtime::EnvCache;

use crate::report;

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Seconds a child function takes to hold the parent's table, as measured by the child.
fn child_read(
    python: &str,
    repo: &Path,
    mode: &str,
    target: &str,
    runs: usize,
) -> anyhow::Result<(f64, u64)> {
    let out = Command::new(python)
        .arg(repo.join("bench/handoff_child.py"))
        .args([mode, target, &runs.to_string()])
        .arg(repo.join("python/runner"))
        .output()
        .with_context(|| format!("starting {python}"))?;
    if !out.status.success() {
        bail!(
            "the {mode} child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok((
        v["seconds"].as_f64().unwrap_or(f64::NAN),
        v["rows"].as_u64().unwrap_or(0),
    ))
}

/// Writes the lake's `taxi_fhvhv` to `out` as an exchange file, one batch at a time (what a SQL
/// model read by a Python child leaves in shared memory); returns its schema, rows and the
/// bytes its arrays held.
pub(crate) fn taxi_to_ipc(
    rt: &tokio::runtime::Runtime,
    lake: &str,
    out: &Path,
) -> anyhow::Result<(arrow::datatypes::SchemaRef, usize, usize)> {
    let engine = bayou_sql::QueryEngine::new(crate::open_lake(lake)?);
    let (schema, rows, bytes) = rt.block_on(async {
        let mut answer = engine.query("main", "SELECT * FROM taxi_fhvhv").await?;
        let mut w = bayou_runtime::IpcWriter::create(out, &answer.schema)?;
        let (mut rows, mut bytes) = (0, 0);
        while let Some(batch) = answer.next_batch().await {
            let batch = batch?;
            rows += batch.num_rows();
            bytes += batch.get_array_memory_size();
            w.write(&batch)?;
        }
        w.finish()?;
        anyhow::Ok((answer.schema.clone(), rows, bytes))
    })?;
    if rows == 0 {
        bail!("taxi_fhvhv is empty: run `bayou demo load` first");
    }
    Ok((schema, rows, bytes))
}

/// (a) Handing `taxi_fhvhv` from a parent to a child function: the child maps the Arrow IPC
/// file bayou's exchange writes to shared memory (with bayou's own writer), vs reading a Parquet file on local disk, vs
/// receiving Arrow IPC over a loopback socket. Each figure is the child's median over `runs`.
/// The parent holds one batch at a time (the table goes straight to shared memory, and the
/// peers' inputs are made from the mapped file), so 50M rows (9.5 GB) fit on a 24 GB machine.
pub(crate) fn handoff(lake: &str, python: &str, repo: &Path, runs: usize) -> anyhow::Result<()> {
    let rt = runtime()?;
    let shm_root = Path::new("/dev/shm");
    let shm = tempfile::Builder::new()
        .prefix("bayou-bench-")
        .tempdir_in(if shm_root.is_dir() {
            shm_root.to_path_buf()
        } else {
            std::env::temp_dir()
        })?;
    let ipc = shm.path().join("parent.arrow");
    let (schema, rows, bytes) = taxi_to_ipc(&rt, lake, &ipc)?;
    // The peers' inputs, one batch at a time from the file just written.
    let batches = || -> anyhow::Result<_> {
        let file = std::fs::File::open(&ipc)?;
        Ok(arrow::ipc::reader::FileReader::try_new(file, None)?)
    };

    let disk = tempfile::tempdir()?; // $TMPDIR: local disk here, as in the reference
    let parquet = disk.path().join("parent.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet)?,
        schema.clone(),
        Some(props),
    )?;
    for b in batches()? {
        w.write(&b?)?;
    }
    w.close()?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let (mmap, parq, sock) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let server = scope.spawn(|| -> anyhow::Result<()> {
            for _ in 0..runs {
                let (conn, _) = listener.accept()?;
                let mut w = arrow::ipc::writer::StreamWriter::try_new(
                    BufWriter::with_capacity(1 << 20, conn),
                    &schema,
                )?;
                for b in batches()? {
                    w.write(&b?)?;
                }
                w.finish()?;
            }
            Ok(())
        });
        let sock = child_read(python, repo, "socket", &addr, runs);
        server
            .join()
            .map_err(|_| anyhow::anyhow!("the socket server panicked"))??;
        let mmap = child_read(python, repo, "mmap", &ipc.display().to_string(), runs)?;
        let parq = child_read(
            python,
            repo,
            "parquet",
            &parquet.display().to_string(),
            runs,
        )?;
        Ok((mmap, parq, sock?))
    })?;
    for (what, (_, n)) in [("mmap", mmap), ("parquet", parq), ("socket", sock)] {
        if n as usize != rows {
            bail!("the {what} child read {n} rows, not {rows}");
        }
    }
    let title = format!(
        "handoff of {:.1}M rows ({:.2} GB) to a child",
        rows as f64 / 1e6,
        bytes as f64 / 1e9
    );
    report(
        &title,
        mmap.0,
        "Parquet file on local disk",
        parq.0,
        "s",
        false,
    );
    report(
        &title,
        mmap.0,
        "Arrow IPC over loopback TCP",
        sock.0,
        "s",
        false,
    );
    Ok(())
}

/// Waits until the bytecode of every package the environment at `env` links is compiled.
fn wait_for_bytecode(env: &Path) -> anyhow::Result<()> {
    for package in bayou_runtime::bytecode::pending(env) {
        bayou_runtime::bytecode::wait(&package)?;
    }
    Ok(())
}

fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    let start = Instant::now();
    let v = f()?;
    Ok((v, start.elapsed().as_secs_f64()))
}

fn pip(python: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!(
            "pip install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn venv(python: &str, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let status = Command::new(python)
        .args(["-m", "venv"])
        .arg(dir)
        .status()?;
    if !status.success() {
        bail!("python -m venv {} failed", dir.display());
    }
    Ok(dir.join("bin/python"))
}

/// (c) Environments. Adding one package whose wheel is cached (the package store has yet to
/// install and compile it: its first use on the machine) against a fresh venv and
/// `pip install` with pip's cache warm; a new environment of that package and pyarrow when the
/// store holds both (a resolution, a venv and links) against uv doing the same from its warm
/// cache (`uv venv` + `uv pip install --offline --compile-bytecode`, which bayou did before the
/// store); and the environment already present.
pub(crate) fn envs(python: &str, package: &str, version: &str) -> anyhow::Result<()> {
    let rt = runtime()?;
    let base = PythonSpec::default();
    let mut added = PythonSpec::default();
    added
        .packages
        .insert(package.to_string(), version.to_string());

    // Warm uv's cache with every wheel (untimed), then start from an env without the package.
    let uv = std::env::var_os("BAYOU_UV").map_or_else(|| "uv".into(), std::path::PathBuf::from);
    let warm = tempfile::tempdir()?;
    rt.block_on(
        EnvCache::new(warm.path())
            .with_uv(uv.clone())
            .python(&added, "bench"),
    )?;
    wait_for_bytecode(&warm.path().join("envs").join(EnvCache::key(&added)))?;
    let cache = tempfile::tempdir()?;
    let envs = EnvCache::new(cache.path()).with_uv(uv.clone());
    rt.block_on(envs.python(&base, "bench"))?;
    let (first, update) = timed(|| Ok(rt.block_on(envs.python(&added, "bench"))?))?;
    // Its bytecode is compiled in the background: how long until it is, waited for before
    // anything else is timed.
    let dir = cache.path().join("envs").join(EnvCache::key(&added));
    let (_, compiled) = timed(|| wait_for_bytecode(&dir))?;
    let (again, present) = timed(|| Ok(rt.block_on(envs.python(&added, "bench"))?))?;
    if !first.built || again.built {
        bail!("expected one build, then a cache hit");
    }
    // The same environment wanted anew (its directory gone, the store warm).
    std::fs::remove_dir_all(&dir)?;
    let (rebuilt, assembled) = timed(|| Ok(rt.block_on(envs.python(&added, "bench"))?))?;
    if !rebuilt.built {
        bail!("expected a build from the store");
    }

    // The peers: pip with its cache warmed by an identical install, and uv from its warm cache.
    let pins = [
        bayou_runtime::PYARROW_REQUIREMENT.to_string(),
        format!("{package}=={version}"),
    ];
    let pins: Vec<&str> = pins.iter().map(String::as_str).collect();
    let dirs = tempfile::tempdir()?;
    pip(&venv(python, &dirs.path().join("warm"))?, &pins)?;
    let env = venv(python, &dirs.path().join("base"))?;
    pip(&env, &pins[..1])?;
    let (_, peer_update) = timed(|| pip(&env, &pins))?;
    let (_, peer_present) = timed(|| pip(&env, &pins))?;
    let (_, peer_new) = timed(|| uv_env(&uv, python, &dirs.path().join("uv"), &pins))?;

    let name = format!("env update: add {package}=={version} (wheel cached)");
    report(
        &name,
        update,
        "venv + pip install (pip cache warm)",
        peer_update,
        "s",
        false,
    );
    report(
        "  ... until its bytecode is compiled (after, in the background)",
        update + compiled,
        "venv + pip install (pip cache warm)",
        peer_update,
        "s",
        false,
    );
    report(
        &format!("new env of {package} + pyarrow (store warm)"),
        assembled,
        "uv venv + uv pip install (cache warm)",
        peer_new,
        "s",
        false,
    );
    report(
        "env update: environment already present",
        present,
        "pip install, all satisfied",
        peer_present,
        "s",
        false,
    );
    Ok(())
}

/// A venv at `dir` with `pins` installed by uv from its cache, bytecode compiled.
fn uv_env(uv: &Path, python: &str, dir: &Path, pins: &[&str]) -> anyhow::Result<()> {
    let made = Command::new(uv)
        .args(["venv", "--quiet", "--python", python])
        .arg(dir)
        .status()?;
    let installed = Command::new(uv)
        .args([
            "pip",
            "install",
            "--quiet",
            "--offline",
            "--compile-bytecode",
            "--python",
        ])
        .arg(dir.join("bin/python"))
        .args(pins)
        .status()?;
    if !made.success() || !installed.success() {
        bail!(
            "uv could not build the peer environment at {}",
            dir.display()
        );
    }
    Ok(())
}
