//! The outputs a worker holds, and the Arrow Flight endpoint its peers fetch them from.
//!
//! [`Holdings`] maps `(run, node)` to the Arrow IPC file holding that node's output on this
//! worker. [`OutputService`] answers `DoGet` for an [`OutputTicket`]: it maps the file (no
//! copy into memory) and streams its batches in the order they were written. Only callers
//! presenting the exchange token of the worker's current session are served; before the
//! first session, or with any other token, every call is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_flight::encode::{DictionaryHandling, FlightDataEncoderBuilder};
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use bayou_proto::v1::OutputTicket;
use futures::stream::StreamExt;
use prost::Message as _;
use tonic::{Request, Response, Status, Streaming};

/// Bytes of Arrow data per Flight message: batches larger than this are sent in slices, so a
/// peer starts writing before a whole batch has crossed.
const MAX_FLIGHT_DATA_BYTES: usize = 4 << 20;

/// The outputs this worker holds, shared by the runtime that makes them and the Flight endpoint
/// that serves them.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    files: HashMap<(String, String), PathBuf>,
    /// The exchange token of the current session; `None`: serve nobody.
    token: Option<String>,
}

impl Holdings {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers node `node`'s output of run `run_id`, the Arrow IPC file at `file`, to peers.
    pub fn hold(&self, run_id: &str, node: &str, file: &Path) {
        self.lock()
            .files
            .insert((run_id.to_string(), node.to_string()), file.to_path_buf());
    }

    /// Stops offering every output of run `run_id` (its files are the run's to remove).
    pub fn release_run(&self, run_id: &str) {
        self.lock().files.retain(|(run, _), _| run != run_id);
    }

    /// The file holding `node`'s output of run `run_id`, if this worker holds it.
    pub fn file(&self, run_id: &str, node: &str) -> Option<PathBuf> {
        self.lock()
            .files
            .get(&(run_id.to_string(), node.to_string()))
            .cloned()
    }

    /// Bytes of the files held.
    pub fn bytes(&self) -> u64 {
        let files: Vec<PathBuf> = self.lock().files.values().cloned().collect();
        files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Sets the token peers must present (a new session's), or `None` to refuse everybody.
    pub fn set_token(&self, token: Option<String>) {
        self.lock().token = token;
    }

    /// The exchange token of the current session, if there is one.
    pub fn token(&self) -> Option<String> {
        self.lock().token.clone()
    }

    /// Whether a call with `metadata` presents the exchange token of the current session.
    pub(crate) fn admits(&self, metadata: &tonic::metadata::MetadataMap) -> bool {
        let presented = metadata
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map_or("", bayou_types::bearer_token);
        !presented.is_empty() && self.token_matches(presented)
    }

    fn token_matches(&self, presented: &str) -> bool {
        match &self.lock().token {
            Some(token) => bayou_types::constant_time_eq(token.as_bytes(), presented.as_bytes()),
            None => false,
        }
    }
}

/// The Flight endpoint of a worker: `DoGet` of the outputs in its [`Holdings`]; every other
/// Flight call is unimplemented.
#[derive(Debug, Clone)]
pub struct OutputService {
    holdings: Holdings,
}

impl OutputService {
    pub fn new(holdings: Holdings) -> Self {
        Self { holdings }
    }

    /// The tonic service, taking messages of any size (a peer's batches are large).
    pub fn into_server(self) -> FlightServiceServer<Self> {
        FlightServiceServer::new(self).max_decoding_message_size(64 << 20)
    }

    fn check(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
        if !self.holdings.admits(metadata) {
            return Err(Status::unauthenticated(
                "this worker serves outputs only to its cluster's workers (a wrong or stale exchange token)",
            ));
        }
        Ok(())
    }
}

impl OutputService {
    /// Streams the output `ticket` names, to a caller presenting the exchange token (the
    /// server's Flight endpoint answers output tickets with this too).
    pub async fn serve(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        ticket: OutputTicket,
    ) -> Result<Stream<FlightData>, Status> {
        self.check(metadata)?;
        let Some(file) = self.holdings.file(&ticket.run_id, &ticket.node) else {
            return Err(Status::not_found(format!(
                "no output of '{}' in run {} is held here",
                ticket.node, ticket.run_id
            )));
        };
        // Mapping reads only the footer; the batches' pages are read as they are sent.
        tokio::task::spawn_blocking(move || encode(&file))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
    }
}

/// The output ticket in a Flight ticket's bytes: an `Any` of type
/// [`bayou_proto::OUTPUT_TICKET_TYPE_URL`].
fn read_ticket(bytes: &[u8]) -> Result<OutputTicket, Status> {
    let any = arrow_flight::sql::Any::decode(bytes)
        .map_err(|e| Status::invalid_argument(format!("not an output ticket: {e}")))?;
    if any.type_url != bayou_proto::OUTPUT_TICKET_TYPE_URL {
        return Err(Status::invalid_argument(format!(
            "not an output ticket: {}",
            any.type_url
        )));
    }
    OutputTicket::decode(any.value)
        .map_err(|e| Status::invalid_argument(format!("not an output ticket: {e}")))
}

/// A stream of Flight messages, as a `DoGet` answers.
pub type Stream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

fn unimplemented<T>(what: &str) -> Result<T, Status> {
    Err(Status::unimplemented(format!(
        "a worker's Flight endpoint serves only DoGet of node outputs, not {what}"
    )))
}

#[tonic::async_trait]
impl FlightService for OutputService {
    type HandshakeStream = Stream<HandshakeResponse>;
    type ListFlightsStream = Stream<FlightInfo>;
    type DoGetStream = Stream<FlightData>;
    type DoPutStream = Stream<PutResult>;
    type DoExchangeStream = Stream<FlightData>;
    type DoActionStream = Stream<arrow_flight::Result>;
    type ListActionsStream = Stream<ActionType>;

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let ticket = read_ticket(&request.get_ref().ticket)?;
        self.serve(request.metadata(), ticket)
            .await
            .map(Response::new)
    }

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        unimplemented("Handshake")
    }

    async fn list_flights(
        &self,
        _: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        unimplemented("ListFlights")
    }

    async fn get_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        unimplemented("GetFlightInfo")
    }

    async fn poll_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        unimplemented("PollFlightInfo")
    }

    async fn get_schema(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        unimplemented("GetSchema")
    }

    async fn do_put(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        unimplemented("DoPut")
    }

    async fn do_exchange(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        unimplemented("DoExchange")
    }

    async fn do_action(
        &self,
        _: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        unimplemented("DoAction")
    }

    async fn list_actions(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        unimplemented("ListActions")
    }
}

/// The file at `file` as a stream of Flight messages. Its messages are relayed as they lie in
/// the file (no copy until gRPC frames them) when the schema has no dictionaries and no
/// message is too large for one gRPC message; otherwise batches are decoded and encoded again,
/// in slices.
fn encode(file: &Path) -> Result<Stream<FlightData>, Status> {
    let internal = |e: bayou_runtime::Error| Status::internal(e.to_string());
    let (schema, messages) = bayou_runtime::ipc_messages(file).map_err(internal)?;
    let fits = messages.iter().all(|m| m.body.len() <= MAX_RELAYED_BYTES);
    if crate::ipc_file::relayable(&schema) && fits {
        let options = arrow::ipc::writer::IpcWriteOptions::default();
        let first: FlightData = arrow_flight::SchemaAsIpc::new(&schema, &options).into();
        let rest = messages.into_iter().map(|m| FlightData {
            data_header: m.header,
            data_body: m.body,
            ..Default::default()
        });
        let all = std::iter::once(first).chain(rest).map(Ok);
        return Ok(futures::stream::iter(all).boxed());
    }
    let (schema, batches) = bayou_runtime::map_ipc(file).map_err(internal)?;
    let batches = futures::stream::iter(batches.into_iter().map(Ok));
    // Dictionaries are sent as dictionaries (the default would turn them into their values,
    // changing the column's type under the children).
    let encoded = FlightDataEncoderBuilder::new()
        .with_dictionary_handling(DictionaryHandling::Resend)
        .with_schema(schema)
        .with_max_flight_data_size(MAX_FLIGHT_DATA_BYTES)
        .build(batches)
        .map(|data| data.map_err(|e| Status::internal(e.to_string())));
    Ok(encoded.boxed())
}

/// The largest message relayed whole; a peer accepts gRPC messages of up to 64 MiB.
const MAX_RELAYED_BYTES: usize = 32 << 20;

/// The Flight ticket of `node`'s output of run `run_id`.
pub fn ticket(run_id: &str, node: &str) -> Ticket {
    let inner = OutputTicket {
        run_id: run_id.to_string(),
        node: node.to_string(),
    };
    let any = arrow_flight::sql::Any {
        type_url: bayou_proto::OUTPUT_TICKET_TYPE_URL.to_string(),
        value: inner.encode_to_vec().into(),
    };
    Ticket::new(any.encode_to_vec())
}
