//! `WriteTable`: a table made of files a client sends (or of `s3://` objects the server reads).
//! The files are saved in a staging directory that lives as long as the call, then handed to
//! the service as [`FileSource::Sent`]; progress streams back while the table is written.
//!
//! Trade-off: the client sends the files as they are (not Arrow), so the server reads them with
//! the same code, and the same errors, as an embedded lake; the price is one staged copy.

use std::path::Path;

use bayou_proto::v1 as pb;
use bayou_proto::v1::write_table_input::Part as In;
use bayou_proto::v1::write_table_output::Part as Out;
use bayou_proto::v1::write_table_start::What;
use bayou_service::{Embedded, FileSource, NamedFile, Service, WriteMode, wire};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use tonic::{Status, Streaming};

pub(crate) type Outputs = BoxStream<'static, Result<pb::WriteTableOutput, Status>>;

/// The most bytes one call may send: staged files share the server's temporary disk.
const MAX_UPLOAD_BYTES: u64 = 64 << 30;

/// How long the server waits for the next message of an upload before giving up on it.
const IDLE: std::time::Duration = std::time::Duration::from_secs(300);

/// The next message of an upload, or an error when the client stays silent for [`IDLE`].
async fn next(
    input: &mut Streaming<pb::WriteTableInput>,
) -> Result<Option<pb::WriteTableInput>, Status> {
    tokio::time::timeout(IDLE, input.message())
        .await
        .map_err(|_| Status::deadline_exceeded("the upload stalled for 5 minutes"))?
}

/// Receives a table write's start and files, then writes the table as the stream is read.
pub(crate) async fn write_table(
    svc: Embedded,
    mut input: Streaming<pb::WriteTableInput>,
) -> Result<Outputs, Status> {
    let start = match next(&mut input).await? {
        Some(pb::WriteTableInput {
            part: Some(In::Start(start)),
        }) => start,
        _ => {
            return Err(Status::invalid_argument(
                "a table write begins with its start",
            ));
        }
    };
    let what = start
        .what
        .ok_or_else(|| Status::invalid_argument("a table write says what to write"))?;
    // What would fail anyway fails before the upload: a tag, a missing or existing table.
    let (table, branch, mode) = match &what {
        What::Create(r) => (&r.table, &r.branch, replace_or_create(r.replace)),
        What::Apply(p) => (&p.table, &p.branch, replace_or_create(p.replace)),
        What::Import(r) => (&r.table, &r.branch, WriteMode::Append),
        What::Plan(r) => (&r.table, &r.branch, replace_or_create(r.replace)),
    };
    svc.check_write(table, branch.as_deref(), mode)
        .await
        .map_err(|e| wire::error_to_status(&e))?;
    let staging = tempfile::Builder::new()
        .prefix("bayou-upload-")
        .tempdir()
        .map_err(|e| Status::internal(format!("cannot make a staging directory: {e}")))?;
    let source = match start.files.is_empty() {
        true => FileSource::Uri(start.search_uri),
        false => FileSource::Sent {
            files: receive(&mut input, &start.files, staging.path()).await?,
            uri: start.search_uri,
        },
    };
    let (tx, rx) = tokio::sync::watch::channel((0u64, 0u64));
    let work = async move {
        let progress = move |done: u64, total: u64| {
            let _ = tx.send((done, total));
        };
        let part = match what {
            What::Create(r) => svc
                .create_table(&wire::table_request_from_wire(r), &source, &progress)
                .await
                .map(|o| Out::Written(wire::write_outcome_to_wire(&o))),
            What::Apply(plan) => svc
                .apply_table_plan(&wire::plan_from_wire(plan), &source, &progress)
                .await
                .map(|o| Out::Written(wire::write_outcome_to_wire(&o))),
            What::Import(r) => svc
                .import_data(&wire::import_request_from_wire(r), &source, &progress)
                .await
                .map(|i| Out::Imported(wire::imported_to_wire(&i))),
            What::Plan(r) => svc
                .plan_table(&wire::table_request_from_wire(r), &source)
                .await
                .map(|plan| Out::Planned(wire::plan_to_wire(&plan))),
        };
        drop(staging);
        part.map(|part| pb::WriteTableOutput { part: Some(part) })
            .map_err(|e| wire::error_to_status(&e))
    };
    Ok(with_progress(work, rx))
}

fn replace_or_create(replace: bool) -> WriteMode {
    match replace {
        true => WriteMode::Replace,
        false => WriteMode::Create,
    }
}

/// Saves the files `listed`, whose bytes follow in order (no chunk spans two files), under
/// `dir`: each one's path there and where it came from.
async fn receive(
    input: &mut Streaming<pb::WriteTableInput>,
    listed: &[pb::SentFile],
    dir: &Path,
) -> Result<Vec<NamedFile>, Status> {
    let total = listed
        .iter()
        .try_fold(0u64, |sum, f| sum.checked_add(f.size))
        .filter(|total| *total <= MAX_UPLOAD_BYTES);
    if total.is_none() {
        return Err(Status::resource_exhausted(format!(
            "the files listed come to more than the {} GiB one call may send\n  hint: import them in several calls, or put them in s3:// for the server to read",
            MAX_UPLOAD_BYTES >> 30
        )));
    }
    let mut saved = Vec::with_capacity(listed.len());
    for (i, sent) in listed.iter().enumerate() {
        // The staged name is the server's own; only a known extension is kept from the client.
        let ext = Path::new(&sent.origin)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .filter(|e| ["parquet", "pq", "csv"].contains(&e.as_str()))
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "cannot tell the format of '{}': bayou reads files ending in .parquet or .csv",
                    sent.origin
                ))
            })?;
        let path = dir.join(format!("{i}.{ext}"));
        let io = |e: std::io::Error| Status::internal(format!("cannot stage {}: {e}", sent.origin));
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut got = 0u64;
        let mut digest = Sha256::new();
        while got < sent.size {
            let chunk = match next(input).await? {
                Some(pb::WriteTableInput {
                    part: Some(In::Chunk(chunk)),
                }) if !chunk.is_empty() => chunk,
                _ => {
                    return Err(Status::invalid_argument(format!(
                        "the upload ended (or sent an empty part) before all of {} came",
                        sent.origin
                    )));
                }
            };
            got += chunk.len() as u64;
            if got > sent.size {
                return Err(Status::invalid_argument(format!(
                    "more bytes came for {} than its {} listed",
                    sent.origin, sent.size
                )));
            }
            digest.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        saved.push(NamedFile {
            path,
            origin: sent.origin.clone(),
            sha256: Some(hex::encode(digest.finalize())),
        });
    }
    if next(input).await?.is_some() {
        return Err(Status::invalid_argument(
            "more came after the files listed in the upload's start",
        ));
    }
    Ok(saved)
}

/// The latest progress while `work` goes on, then its answer. Dropping the stream (the client
/// went away) drops the work: nothing is committed.
fn with_progress(
    work: impl Future<Output = Result<pb::WriteTableOutput, Status>> + Send + 'static,
    progress: tokio::sync::watch::Receiver<(u64, u64)>,
) -> Outputs {
    let work = Some(Box::pin(work));
    futures::stream::unfold((work, progress), |(mut work, mut progress)| async move {
        let running = work.as_mut()?;
        tokio::select! {
            biased;
            answer = running => Some((answer, (None, progress))),
            Ok(()) = progress.changed() => {
                let (done, total) = *progress.borrow_and_update();
                let part = Out::Progress(pb::WriteProgress { done, total });
                Some((Ok(pb::WriteTableOutput { part: Some(part) }), (work, progress)))
            }
        }
    })
    .boxed()
}
