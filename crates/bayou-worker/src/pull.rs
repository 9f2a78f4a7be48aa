//! [`pull`]: a peer's output, fetched with Flight `DoGet` into a local Arrow IPC file.

use std::path::Path;

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::flight_service_client::FlightServiceClient;
use futures::TryStreamExt as _;
use tonic::transport::Endpoint;

use crate::{Error, Result};

/// What a pull moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    pub rows: u64,
    /// Bytes of the file written.
    pub bytes: u64,
    pub batches: u64,
}

/// Fetches `node`'s output of run `run_id` from the worker whose Flight endpoint is at `url`,
/// presenting `token`, into a new Arrow IPC file at `dest`. Batches are written as they arrive:
/// the whole output is never in memory at once. A failed pull removes what it wrote.
pub async fn pull(url: &str, token: &str, run_id: &str, node: &str, dest: &Path) -> Result<Pulled> {
    let what = || format!("fetching the output of '{node}' (run {run_id}) from {url}");
    let rpc = |source: tonic::Status| Error::Rpc {
        what: what(),
        source: Box::new(source),
    };
    let channel = Endpoint::from_shared(url.to_string())
        .map_err(|e| Error::Connect(format!("'{url}' is not a Flight URL: {e}")))?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| Error::Connect(format!("{}: {e}", what())))?;
    let mut client = FlightServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let mut request = tonic::Request::new(crate::outputs::ticket(run_id, node));
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| Error::Connect("the exchange token holds characters no token has".into()))?;
    request.metadata_mut().insert("authorization", bearer);
    let stream = client.do_get(request).await.map_err(rpc)?.into_inner();
    let mut batches = FlightRecordBatchStream::new_from_flight_data(stream.map_err(Into::into));
    let written = async {
        let mut counts = Pulled {
            rows: 0,
            bytes: 0,
            batches: 0,
        };
        let mut writer = None;
        while let Some(batch) = batches.try_next().await? {
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(bayou_runtime::IpcWriter::create(dest, &batch.schema())?),
            };
            counts.rows += batch.num_rows() as u64;
            counts.batches += 1;
            w.write(&batch)?;
        }
        let writer = match writer {
            Some(w) => w,
            // No batch came: the schema still did; an empty output is a file with none.
            None => {
                let schema = batches.schema().cloned().ok_or_else(|| {
                    Error::Connect(format!("{}: the stream ended before its schema", what()))
                })?;
                bayou_runtime::IpcWriter::create(dest, &schema)?
            }
        };
        writer.finish()?;
        counts.bytes = std::fs::metadata(dest)
            .map_err(|source| Error::Io {
                what: format!("reading {}", dest.display()),
                source,
            })?
            .len();
        Ok(counts)
    };
    let result: Result<Pulled> = written.await;
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}
