//! [`pull`]: a peer's output, fetched with Flight `DoGet` into a local Arrow IPC file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_flight::FlightData;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::flight_service_client::FlightServiceClient;
use futures::{StreamExt as _, TryStreamExt as _};

use crate::ipc_file::{RawIpcFile, check};
use crate::{Error, Result};

/// What a pull moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    pub rows: u64,
    /// Bytes of the file written.
    pub bytes: u64,
    pub batches: u64,
}

/// A file being written next to its final place; removed unless it was put there, so a failed
/// or abandoned pull leaves nothing, and nobody maps a half-written output.
struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    fn next_to(dest: &Path) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = dest
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().to_string());
        let path = dest.with_file_name(format!(".{name}.{}.{n}.partial", std::process::id()));
        Self { path, done: false }
    }

    fn persist(mut self, dest: &Path) -> Result<u64> {
        std::fs::rename(&self.path, dest).map_err(|source| Error::Io {
            what: format!("moving the pulled output to {}", dest.display()),
            source,
        })?;
        self.done = true;
        Ok(std::fs::metadata(dest).map_or(0, |m| m.len()))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Fetches `node`'s output of run `run_id` from the worker whose Flight endpoint is at `url`,
/// presenting `token`, into a new Arrow IPC file at `dest`. Batches are written as they arrive:
/// the whole output is never in memory at once. A pull that fails or is dropped leaves nothing
/// at `dest`.
pub async fn pull(url: &str, token: &str, run_id: &str, node: &str, dest: &Path) -> Result<Pulled> {
    pull_with(url, None, token, run_id, node, dest).await
}

/// [`pull`] from an endpoint that may be `https://` with its own CA (`ca_pem`).
pub(crate) async fn pull_with(
    url: &str,
    ca_pem: Option<&[u8]>,
    token: &str,
    run_id: &str,
    node: &str,
    dest: &Path,
) -> Result<Pulled> {
    let what = || format!("fetching the output of '{node}' (run {run_id}) from {url}");
    let rpc = |source: tonic::Status| Error::Rpc {
        what: what(),
        source: Box::new(source),
    };
    let channel = bayou_proto::endpoint(url, ca_pem)
        .map_err(Error::Connect)?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .initial_stream_window_size(Some(crate::STREAM_WINDOW))
        .initial_connection_window_size(Some(crate::CONNECTION_WINDOW))
        .max_frame_size(Some(crate::MAX_FRAME))
        .connect()
        .await
        .map_err(|e| Error::Connect(format!("{}: {e}", what())))?;
    let mut client = FlightServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let mut request = tonic::Request::new(crate::outputs::ticket(run_id, node));
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| Error::Connect("the exchange token holds characters no token has".into()))?;
    request.metadata_mut().insert("authorization", bearer);
    let mut stream = client.do_get(request).await.map_err(rpc)?.into_inner();
    let Some(first) = stream.message().await.map_err(rpc)? else {
        return Err(Error::Connect(format!(
            "{}: the stream ended before its schema",
            what()
        )));
    };
    let schema =
        std::sync::Arc::new(arrow::datatypes::Schema::try_from(&first).map_err(Error::Arrow)?);
    let partial = Partial::next_to(dest);
    let mut pulled = if crate::ipc_file::relayable(&schema) {
        relay(schema, first, stream, &partial.path, rpc).await?
    } else {
        // Checked before arrow's decoder sees them: it asserts what `check` tests.
        let checked = stream.map(|data| {
            let data = data?;
            check(&data.data_header, &data.data_body).map_err(|w| {
                tonic::Status::data_loss(format!("a malformed Arrow message ({w})"))
            })?;
            Ok(data)
        });
        let all = futures::stream::iter([Ok(first)]).chain(checked);
        decode(all, &schema, &partial.path).await?
    };
    pulled.bytes = partial.persist(dest)?;
    Ok(pulled)
}

/// Writes the messages as they came, each one checked ([`RawIpcFile`]).
async fn relay(
    schema: arrow::datatypes::SchemaRef,
    first: FlightData,
    mut stream: tonic::Streaming<FlightData>,
    path: &Path,
    rpc: impl Fn(tonic::Status) -> Error,
) -> Result<Pulled> {
    let mut file = RawIpcFile::create(path, schema, &first.data_header)?;
    let mut batches = 0;
    while let Some(data) = stream.message().await.map_err(&rpc)? {
        file.append(&data.data_header, &data.data_body)?;
        batches += 1;
    }
    let rows = file.rows;
    file.finish()?;
    Ok(Pulled {
        rows,
        bytes: 0,
        batches,
    })
}

/// Decodes the batches and writes them again (schemas with dictionaries).
async fn decode(
    all: impl futures::Stream<Item = Result<FlightData, tonic::Status>> + Send + 'static,
    schema: &arrow::datatypes::SchemaRef,
    path: &Path,
) -> Result<Pulled> {
    let mut batches = FlightRecordBatchStream::new_from_flight_data(all.map_err(Into::into));
    let mut writer = bayou_runtime::IpcWriter::create(path, schema)?;
    let mut counts = Pulled {
        rows: 0,
        bytes: 0,
        batches: 0,
    };
    while let Some(batch) = batches.try_next().await? {
        counts.rows += batch.num_rows() as u64;
        counts.batches += 1;
        writer.write(&batch)?;
    }
    writer.finish()?;
    Ok(counts)
}
