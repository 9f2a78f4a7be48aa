//! [`Exchange`]: where a run keeps its intermediate tables, as Arrow IPC files that every
//! reader memory-maps instead of copying.
//!
//! A run's files live in shared memory (`/dev/shm/bayou/<run>`) when the machine has room there,
//! else on local disk (`<cache>/work/<run>`); the choice is made per table from the free space
//! and the table's size. A parent's output is written once and every child maps the same file,
//! so three children of a 10 GB table cost 10 GB, not 30. bayou maps the files too, so its own
//! view of a Python model's output is the same pages. Directories carry the owner's pid; a run
//! that crashed leaves them behind and the next run removes them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::buffer::Buffer;
use arrow::compute::BatchCoalescer;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::{Error, Result};

/// Free space kept in reserve on shared memory, beyond the table itself.
const SHM_RESERVE: u64 = 256 << 20;

/// The directories of one run.
#[derive(Debug)]
pub(crate) struct Exchange {
    run_id: String,
    /// In shared memory, if the machine has it.
    shm: Option<PathBuf>,
    /// On local disk; created on first use.
    disk: PathBuf,
    /// Locks on the directories' `pid` files, held while the run lives: how a sweep tells a
    /// live run from a crashed one (released by the OS however the process ends).
    locks: std::sync::Mutex<Vec<std::fs::File>>,
}

/// Makes `dir` a directory only its owner `uid` can enter (function requests hold secret
/// parameters): false if it exists and belongs to someone else, or cannot be made so.
fn private_dir(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let _ = std::fs::create_dir(dir);
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() && m.uid() == uid => {
            m.mode() & 0o077 == 0
                || std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).is_ok()
        }
        _ => false,
    }
}

impl Exchange {
    /// Directories for run `run_id`, removing what crashed runs left behind first.
    /// `shm` overrides where intermediate tables go first (`BAYOU_EXCHANGE_DIR`).
    pub(crate) fn create(cache: &Path, run_id: &str, shm: Option<&Path>) -> Result<Self> {
        let disk_root = cache.join("work");
        let shm_root = match shm {
            Some(dir) => Some(dir.to_path_buf()),
            None => {
                // One directory per user: another user's runs are neither visible nor in the way.
                use std::os::unix::fs::MetadataExt;
                let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
                let shm = Path::new("/dev/shm");
                let root = shm.join(format!("bayou-{uid}"));
                (shm.is_dir() && private_dir(&root, uid)).then_some(root)
            }
        };
        for root in shm_root.iter().chain([&disk_root]) {
            remove_leftovers(root);
        }
        // Shared memory that cannot be used (not writable, say) leaves the run on disk.
        let mut locks = Vec::new();
        let shm = shm_root
            .map(|root| root.join(run_id))
            .filter(|dir| match claim(dir) {
                Ok(lock) => {
                    locks.extend(lock);
                    true
                }
                Err(_) => false,
            });
        Ok(Self {
            run_id: run_id.to_string(),
            shm,
            disk: disk_root.join(run_id),
            locks: std::sync::Mutex::new(locks),
        })
    }

    /// A fresh directory `name` for a table of about `bytes`: in shared memory when it has room
    /// for it (plus a reserve), else on disk.
    pub(crate) fn dir(&self, name: &str, bytes: u64) -> Result<PathBuf> {
        match &self.shm {
            Some(shm) if free_bytes(shm).is_none_or(|free| free > bytes + SHM_RESERVE) => {
                let dir = shm.join(name);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                Ok(dir)
            }
            _ => self.disk_dir(name),
        }
    }

    /// A fresh directory `name` on local disk (for a table that did not fit in shared memory).
    pub(crate) fn disk_dir(&self, name: &str) -> Result<PathBuf> {
        if let Some(lock) = claim(&self.disk)? {
            self.locks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(lock);
        }
        let dir = self.disk.join(name);
        if let Some(shm) = &self.shm {
            let _ = std::fs::remove_dir_all(shm.join(name));
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir)
    }

    /// Whether `dir` is in the run's shared-memory directory.
    pub(crate) fn in_shared_memory(&self, dir: &Path) -> bool {
        self.shm.as_ref().is_some_and(|shm| dir.starts_with(shm))
    }

    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run's directories.
    pub(crate) fn roots(&self) -> impl Iterator<Item = &Path> {
        self.shm
            .iter()
            .map(PathBuf::as_path)
            .chain([self.disk.as_path()])
    }
}

/// A run's files go when the run ends, however it ends (an interrupted run drops it too).
impl Drop for Exchange {
    fn drop(&mut self) {
        for dir in self.roots() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Creates `dir` and marks it as this process's: its `pid` file, locked. Returns the lock to
/// hold (none when this process claimed it before).
fn claim(dir: &Path) -> Result<Option<std::fs::File>> {
    use std::io::Write;
    let pid = dir.join("pid");
    if pid.exists() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut file = std::fs::File::create(&pid).map_err(|e| Error::io(&pid, e))?;
    file.try_lock().map_err(|e| Error::io(&pid, e.into()))?;
    write!(file, "{}", std::process::id()).map_err(|e| Error::io(&pid, e))?;
    Ok(Some(file))
}

/// Whether the run that owns `dir` is gone: nobody holds the lock on its `pid` file. A
/// directory without one is gone if it is over a minute old (a younger one is being claimed).
fn owner_gone(dir: &Path) -> bool {
    match std::fs::File::open(dir.join("pid")) {
        Ok(file) => match file.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(_)) => false, // cannot tell: leave it
        },
        Err(_) => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 60),
    }
}

/// Bytes available to unprivileged writers on the file system holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Whether `name` is a run id (`20261122230501-3fa2c1`): only such directories are ever removed,
/// so pointing `BAYOU_EXCHANGE_DIR` at a directory holding other things is harmless.
fn is_run_dir(name: &str) -> bool {
    let Some((stamp, suffix)) = name.split_once('-') else {
        return false;
    };
    stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
        && suffix.len() == 6
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Removes what crashed runs left behind under `root`: run directories whose owner process is
/// gone. Returns how many were removed.
fn remove_leftovers(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() || !is_run_dir(&entry.file_name().to_string_lossy()) {
            continue;
        }
        if owner_gone(&dir) && std::fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Rows per batch in an exchange file. A reader pays per batch (pyarrow maps 10M rows in 8k-row
/// batches in 75 ms, in 64k-row batches in 21 ms), so small batches are joined on the way in.
const FILE_BATCH_ROWS: usize = 64 * 1024;

/// Writes an exchange file: Arrow IPC batch by batch (uncompressed, so readers can map it),
/// small batches joined into batches of [`FILE_BATCH_ROWS`] rows; large ones are written as
/// they come.
pub struct IpcWriter {
    path: PathBuf,
    inner: arrow::ipc::writer::FileWriter<std::io::BufWriter<std::fs::File>>,
    joined: BatchCoalescer,
}

impl IpcWriter {
    pub fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let inner = arrow::ipc::writer::FileWriter::try_new(
            std::io::BufWriter::with_capacity(1 << 20, file),
            schema,
        )
        .map_err(|e| arrow_error(path, e))?;
        let joined = BatchCoalescer::new(schema.clone(), FILE_BATCH_ROWS)
            .with_biggest_coalesce_batch_size(Some(FILE_BATCH_ROWS / 2));
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            joined,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.joined
            .push_batch(batch.clone())
            .map_err(|e| arrow_error(&self.path, e))?;
        self.write_joined()
    }

    fn write_joined(&mut self) -> Result<()> {
        while let Some(batch) = self.joined.next_completed_batch() {
            self.inner
                .write(&batch)
                .map_err(|e| arrow_error(&self.path, e))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.joined
            .finish_buffered_batch()
            .map_err(|e| arrow_error(&self.path, e))?;
        self.write_joined()?;
        self.inner
            .finish()
            .map_err(|e| arrow_error(&self.path, e))?;
        self.inner
            .into_inner()
            .map_err(|e| arrow_error(&self.path, e))?
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        Ok(())
    }
}

/// An Arrow error as an I/O error on `path`, keeping the kind (a full disk stays one).
fn arrow_error(path: &Path, e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::IoError(_, io) => Error::io(path, io),
        other => Error::io(path, std::io::Error::other(other)),
    }
}

/// Whether `e` says the file system is full.
pub(crate) fn is_full(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull)
}

/// Writes `batches` as an Arrow IPC file.
pub(crate) fn write_ipc(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let mut w = IpcWriter::create(path, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// An Arrow IPC file, mapped, with what its footer says.
struct MappedIpc {
    bytes: bytes::Bytes,
    schema: SchemaRef,
    version: arrow::ipc::MetadataVersion,
    dictionaries: Vec<arrow::ipc::Block>,
    batches: Vec<arrow::ipc::Block>,
}

fn invalid(path: &Path, what: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    )
}

/// Maps the file at `path` and reads its footer, checking that every block lies in the file.
fn open_ipc(path: &Path) -> Result<MappedIpc> {
    let bad = |what: String| invalid(path, what);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let map = map_file(&file).map_err(|e| Error::io(path, e))?;
    let bytes = bytes::Bytes::from_owner(map);
    if bytes.len() < 10 {
        return Err(bad("not an Arrow IPC file (too short)".into()));
    }
    let trailer = bytes.len() - 10;
    let tail: [u8; 10] = bytes[trailer..]
        .try_into()
        .map_err(|_| bad("truncated footer".into()))?;
    let footer_len =
        arrow::ipc::reader::read_footer_length(tail).map_err(|e| bad(e.to_string()))?;
    if footer_len > trailer {
        return Err(bad("footer longer than the file".into()));
    }
    let footer = arrow::ipc::root_as_footer(&bytes[trailer - footer_len..trailer])
        .map_err(|e| bad(e.to_string()))?;
    let schema = Arc::new(arrow::ipc::convert::fb_to_schema(
        footer.schema().ok_or_else(|| bad("no schema".into()))?,
    ));
    let checked = |list: Vec<arrow::ipc::Block>| -> Result<Vec<_>> {
        let mut out = Vec::new();
        for block in list {
            let fits = usize::try_from(block.offset())
                .ok()
                .zip(usize::try_from(block.bodyLength()).ok())
                .zip(usize::try_from(block.metaDataLength()).ok())
                .and_then(|((start, body), meta)| start.checked_add(body)?.checked_add(meta))
                .is_some_and(|end| end <= bytes.len());
            if !fits {
                return Err(bad("a block lies past the end of the file".into()));
            }
            out.push(block);
        }
        Ok(out)
    };
    let dictionaries = footer.dictionaries().iter().flatten().copied().collect();
    let batches = footer.recordBatches().iter().flatten().copied().collect();
    Ok(MappedIpc {
        schema,
        version: footer.version(),
        dictionaries: checked(dictionaries)?,
        batches: checked(batches)?,
        bytes,
    })
}

/// The bytes of `block`: its metadata (with its length prefix) and its body.
fn block_bytes(bytes: &bytes::Bytes, block: &arrow::ipc::Block) -> bytes::Bytes {
    // open_ipc checked that every block lies in the file.
    let start = block.offset() as usize;
    let len = block.metaDataLength() as usize + block.bodyLength() as usize;
    bytes.slice(start..start + len)
}

/// Maps an Arrow IPC file and decodes its batches in place: the arrays point into the mapping,
/// which lives as long as any of them.
pub fn map_ipc(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let bad = |what: String| invalid(path, what);
    let mapped = open_ipc(path)?;
    let mut decoder = arrow::ipc::reader::FileDecoder::new(mapped.schema.clone(), mapped.version);
    let slice = |block: &arrow::ipc::Block| Buffer::from(block_bytes(&mapped.bytes, block));
    for block in &mapped.dictionaries {
        decoder
            .read_dictionary(block, &slice(block))
            .map_err(|e| bad(e.to_string()))?;
    }
    let mut batches = Vec::new();
    for block in &mapped.batches {
        if let Some(b) = decoder
            .read_record_batch(block, &slice(block))
            .map_err(|e| bad(e.to_string()))?
        {
            batches.push(b);
        }
    }
    Ok((mapped.schema, batches))
}

/// One encapsulated message of an IPC file, as it lies there: its flatbuffer header and body.
#[derive(Debug, Clone)]
pub struct IpcMessage {
    pub header: bytes::Bytes,
    pub body: bytes::Bytes,
}

/// The messages of an Arrow IPC file (dictionaries and record batches, in file order) without
/// decoding them: slices of the mapped file, for relaying them as they are.
pub fn ipc_messages(path: &Path) -> Result<(SchemaRef, Vec<IpcMessage>)> {
    let bad = |what: String| invalid(path, what);
    let mapped = open_ipc(path)?;
    let mut blocks: Vec<&arrow::ipc::Block> =
        mapped.dictionaries.iter().chain(&mapped.batches).collect();
    blocks.sort_by_key(|b| b.offset());
    let mut messages = Vec::with_capacity(blocks.len());
    for block in blocks {
        let whole = block_bytes(&mapped.bytes, block);
        let meta_len = block.metaDataLength() as usize;
        // `0xFFFFFFFF, length, flatbuffer` since Arrow 0.15; `length, flatbuffer` before.
        let (prefix, len) = match whole.get(..8) {
            Some([0xff, 0xff, 0xff, 0xff, a, b, c, d]) => (8, i32::from_le_bytes([*a, *b, *c, *d])),
            Some([a, b, c, d, ..]) => (4, i32::from_le_bytes([*a, *b, *c, *d])),
            _ => return Err(bad("a message shorter than its prefix".into())),
        };
        let len = usize::try_from(len).map_err(|_| bad("a negative message length".into()))?;
        if prefix + len > meta_len {
            return Err(bad("a message longer than its block".into()));
        }
        let header = whole.slice(prefix..prefix + len);
        // The block may be padded past the body its header names: send just that body.
        let body_len = arrow::ipc::root_as_message(&header)
            .ok()
            .and_then(|m| usize::try_from(m.bodyLength()).ok())
            .filter(|&n| meta_len + n <= whole.len())
            .ok_or_else(|| bad("a message whose header names no body in its block".into()))?;
        messages.push(IpcMessage {
            header,
            body: whole.slice(meta_len..meta_len + body_len),
        });
    }
    Ok((mapped.schema, messages))
}

/// A read-only shared mapping of `file`.
#[expect(
    unsafe_code,
    reason = "mapping a file is unsafe because another process could truncate it; exchange files are written once, before they are mapped, and never changed"
)]
fn map_file(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: see the reason above; a file that shrank would fault, not corrupt memory we own.
    unsafe { memmap2::Mmap::map(file) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + n)),
                Arc::new(StringArray::from_iter(
                    (from..from + n).map(|i| (i % 3 != 0).then(|| format!("n{i}"))),
                )),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_mapped_file_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.arrow");
        let batches = vec![batch(0, 1000), batch(1000, 17)];
        write_ipc(&path, &batches[0].schema(), &batches).unwrap();
        let (schema, back) = map_ipc(&path).unwrap();
        assert_eq!(schema, batches[0].schema());
        // Small batches are joined on the way in: the same rows, in order, in one batch.
        let whole = arrow::compute::concat_batches(&schema, &batches).unwrap();
        assert_eq!(back, vec![whole]);
        // The arrays point into the mapping: removing the file does not take them away.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back[0].num_rows(), 1017);
    }

    #[test]
    fn small_batches_are_joined_into_large_ones_and_no_row_moves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.arrow");
        let mut batches: Vec<RecordBatch> = (0..100).map(|i| batch(i * 1000, 1000)).collect();
        batches.push(batch(100_000, 200_000));
        batches.push(batch(300_000, 5));
        write_ipc(&path, &batches[0].schema(), &batches).unwrap();
        let (schema, back) = map_ipc(&path).unwrap();
        assert!(back.len() <= 5, "{} batches", back.len());
        assert!(
            back.iter()
                .all(|b| b.num_rows() >= FILE_BATCH_ROWS / 2 || b.num_rows() < 100_000)
        );
        let whole = |b: &[RecordBatch]| arrow::compute::concat_batches(&schema, b).unwrap();
        assert_eq!(whole(&back), whole(&batches));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.arrow");
        let batches = vec![batch(0, 100)];
        write_ipc(&path, &batches[0].schema(), &batches).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for cut in [0, 5, bytes.len() / 2, bytes.len() - 3] {
            let mut damaged = bytes[..cut].to_vec();
            damaged.extend_from_slice(&bytes[bytes.len() - 10.min(cut)..]);
            std::fs::write(&path, &damaged).unwrap();
            assert!(map_ipc(&path).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn tables_go_to_disk_when_shared_memory_is_short() {
        let cache = tempfile::tempdir().unwrap();
        let exchange = Exchange {
            run_id: "20260101000000-abc123".into(),
            shm: Some(cache.path().join("shm/run")),
            disk: cache.path().join("work/run"),
            locks: Default::default(),
        };
        claim(exchange.shm.as_ref().unwrap()).unwrap();
        let small = exchange.dir("a", 1).unwrap();
        assert!(small.starts_with(cache.path().join("shm")));
        let huge = exchange.dir("b", u64::MAX / 2).unwrap();
        assert!(huge.starts_with(cache.path().join("work")));
        assert!(cache.path().join("work/run/pid").exists());
        let roots: Vec<PathBuf> = exchange.roots().map(Path::to_path_buf).collect();
        drop(exchange);
        assert!(roots.iter().all(|d| !d.exists()));
    }
}

#[cfg(test)]
mod names {
    #[test]
    fn only_run_directories_count_as_leftovers() {
        assert!(super::is_run_dir("20261122230501-3fa2c1"));
        for other in [
            "photos",
            "2026-3fa2c1",
            "20261122230501-3fa2c1x",
            "x0261122230501-3fa2c1",
        ] {
            assert!(!super::is_run_dir(other), "{other}");
        }
    }
}
