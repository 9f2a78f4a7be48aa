//! Tables made of files, over the wire: local files are sent to the server with the request
//! (`WriteTable`), `s3://` objects are named and the server reads them itself.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bayou_proto::v1 as pb;
use bayou_proto::v1::write_table_input::Part as In;
use bayou_proto::v1::write_table_output::Part as Out;
use bayou_proto::v1::write_table_start::What;
use bayou_service::{Error, ErrorKind, FileSource, Progress, Result};
use futures::StreamExt as _;
use tokio::io::AsyncReadExt as _;

use crate::Remote;

/// Bytes per chunk sent (well under the 4 MiB a gRPC message may have by default).
const CHUNK: u64 = 1024 * 1024;

/// The local files being sent, chunk by chunk; a read that fails ends the upload and is kept.
struct Upload {
    files: Vec<LocalFile>,
    at: usize,
    open: Option<(tokio::fs::File, u64)>,
    sent: tokio::sync::mpsc::UnboundedSender<u64>,
    failed: Arc<Mutex<Option<Error>>>,
}

impl Upload {
    fn fail(&self, origin: &str, why: std::io::Error) {
        if let Ok(mut failed) = self.failed.lock() {
            *failed = Some(bayou_lake_io(origin.to_string(), why));
        }
    }

    /// The next chunk of the files, in order; `None` at the end or after a failed read.
    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            let (path, origin, size) = self.files.get(self.at)?;
            if self.open.is_none() {
                match tokio::fs::File::open(path).await {
                    Ok(file) => self.open = Some((file, *size)),
                    Err(e) => {
                        self.fail(origin, e);
                        return None;
                    }
                }
            }
            let (file, left) = self.open.as_mut()?;
            if *left == 0 {
                self.open = None;
                self.at += 1;
                continue;
            }
            let mut chunk = vec![0; CHUNK.min(*left) as usize];
            match file.read(&mut chunk).await {
                Ok(0) => {
                    let shorter = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "it became shorter while it was sent",
                    );
                    self.fail(origin, shorter);
                    return None;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    *left -= n as u64;
                    let _ = self.sent.send(n as u64);
                    return Some(chunk);
                }
                Err(e) => {
                    self.fail(origin, e);
                    return None;
                }
            }
        }
    }
}

impl Remote {
    /// Sends a table write: `what`, and the files of `source` when they are local (with
    /// `skip_unreadable`, those that cannot be read are left out and returned).
    pub(crate) async fn write_table(
        &self,
        what: What,
        source: &FileSource,
        skip_unreadable: bool,
        progress: Progress<'_>,
    ) -> Result<(Out, Skipped)> {
        let FileSource::Uri(uri) = source else {
            return Err(Error::Remote {
                kind: ErrorKind::Other,
                message: "a client sends its own files, not staged ones".into(),
            });
        };
        let (files, skipped) = match source.is_object_store() {
            true => (Vec::new(), Vec::new()),
            false => local(uri, skip_unreadable)?,
        };
        if files.is_empty() && !skipped.is_empty() {
            let why: Vec<String> = skipped.iter().map(|(f, e)| format!("{f}: {e}")).collect();
            return Err(Error::Lake(bayou_service::LakeError::InvalidInput(
                format!("no file of '{uri}' could be read: {}", why.join("; ")),
            )));
        }
        let total: u64 = files.iter().map(|(_, _, size)| size).sum();
        let start = pb::WriteTableStart {
            what: Some(what),
            search_uri: uri.clone(),
            files: files
                .iter()
                .map(|(_, origin, size)| pb::SentFile {
                    origin: origin.clone(),
                    size: *size,
                })
                .collect(),
        };
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel();
        let failed = Arc::new(Mutex::new(None));
        let upload = Upload {
            files,
            at: 0,
            open: None,
            sent: sent_tx,
            failed: failed.clone(),
        };
        let chunks = futures::stream::unfold(upload, |mut upload| async move {
            let chunk = upload.next_chunk().await?;
            Some((
                pb::WriteTableInput {
                    part: Some(In::Chunk(chunk)),
                },
                upload,
            ))
        });
        let input = futures::stream::once(async move {
            pb::WriteTableInput {
                part: Some(In::Start(start)),
            }
        })
        .chain(chunks);
        let mut client = self.client();
        let call = client.write_table(input);
        tokio::pin!(call);
        let mut done = 0;
        let response = loop {
            tokio::select! {
                response = &mut call => break response,
                Some(n) = sent_rx.recv() => {
                    done += n;
                    progress(done, total);
                }
            }
        };
        let local_failure = || failed.lock().ok().and_then(|mut f| f.take());
        let mut outputs = match response {
            Ok(r) => r.into_inner(),
            Err(status) => return Err(local_failure().unwrap_or_else(|| self.error(status))),
        };
        while let Some(output) = outputs.message().await.map_err(|s| self.error(s))? {
            match output.part {
                Some(Out::Progress(p)) => progress(p.done, p.total),
                Some(answer) => return Ok((answer, skipped)),
                None => {}
            }
        }
        Err(Error::Remote {
            kind: ErrorKind::Unavailable,
            message: format!(
                "the server at {} stopped answering before the table was written",
                self.url
            ),
        })
    }
}

/// The local files `uri` names, each with its canonical path and size; with `skip_unreadable`,
/// files that cannot be read are left out and listed with why (else the first one fails).
fn local(uri: &str, skip_unreadable: bool) -> Result<(Vec<LocalFile>, Skipped)> {
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    for (path, origin) in bayou_service::local_files(uri)? {
        let readable = std::fs::File::open(&path).and_then(|f| f.metadata());
        match readable {
            Ok(meta) => files.push((path, origin, meta.len())),
            Err(e) if skip_unreadable => skipped.push((origin, e.to_string())),
            Err(source) => {
                return Err(bayou_lake_io(origin, source));
            }
        }
    }
    Ok((files, skipped))
}

/// A file to send: where it is, its canonical path (its name to the server), its size.
type LocalFile = (PathBuf, String, u64);

/// Files left out, each with why.
pub(crate) type Skipped = Vec<(String, String)>;

/// The error an embedded lake gives for a file it cannot read.
fn bayou_lake_io(path: String, source: std::io::Error) -> Error {
    Error::Lake(bayou_service::LakeError::Io { path, source })
}

/// A write's answer that is not what was asked for.
pub(crate) fn unexpected() -> Error {
    Error::Remote {
        kind: ErrorKind::Other,
        message: "the server answered a table write with something else".into(),
    }
}
