//! [`FlightApi`]: Arrow Flight on the server's port, for bayou's own clients and for Flight SQL
//! ones (ADBC, JDBC).
//!
//! bayou's CLI and SDK `DoGet` a `bayou.v1.QueryTicket` (a commit and SQL, wrapped in an `Any`).
//! Flight SQL clients send statements and prepared statements, which read the ref their
//! `x-bayou-ref` header names, else the one `SET bayou.ref = '...'` left in their `bayou-ref`
//! cookie, else the user's active branch; the ref is resolved to a commit when the statement is
//! planned, so its answer reads one commit. Catalog calls list one catalog (`bayou`), the
//! namespaces as schemas, and the tables of the ref. Batches are encoded as they come out of
//! DataFusion: no answer is held whole in memory. Trade-off: planning a statement runs the
//! query planner twice (once for the schema its `FlightInfo` needs, once to execute).

use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket,
};
use bayou_proto::v1 as pb;
use bayou_service::{Embedded, Service, wire};
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::auth::Auth;

/// The header naming the ref a Flight SQL connection reads.
const REF_HEADER: &str = "x-bayou-ref";
/// The cookie `SET bayou.ref = '...'` leaves.
const REF_COOKIE: &str = "bayou-ref";
/// The one catalog Flight SQL clients see.
const CATALOG: &str = "bayou";

type DoGetStream = <FlightApi as FlightService>::DoGetStream;
type HandshakeStream = <FlightApi as FlightService>::HandshakeStream;

#[derive(Clone)]
pub(crate) struct FlightApi {
    auth: Auth,
    /// The inputs the server offers its workers (`OutputTicket`s, exchange token only).
    outputs: bayou_worker::OutputService,
    /// What `GetSqlInfo` answers (`None` if it could not be built).
    info: Option<std::sync::Arc<SqlInfoData>>,
}

impl std::fmt::Debug for FlightApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightApi").finish_non_exhaustive()
    }
}

fn status(e: bayou_service::Error) -> Status {
    wire::error_to_status(&e)
}

fn sql_info() -> Option<std::sync::Arc<SqlInfoData>> {
    let mut info = SqlInfoDataBuilder::new();
    info.append(SqlInfo::FlightSqlServerName, "bayou");
    info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    info.append(SqlInfo::FlightSqlServerArrowVersion, "58");
    info.append(SqlInfo::FlightSqlServerReadOnly, true);
    info.build().ok().map(std::sync::Arc::new)
}

impl FlightApi {
    pub(crate) fn new(auth: Auth, outputs: bayou_worker::OutputService) -> Self {
        Self {
            auth,
            outputs,
            info: sql_info(),
        }
    }

    fn sql_info(&self) -> Result<&SqlInfoData, Status> {
        self.info
            .as_deref()
            .ok_or_else(|| Status::internal("this server has no SQL info"))
    }

    async fn caller(&self, metadata: &MetadataMap) -> Result<Embedded, Status> {
        self.auth.caller(metadata).await
    }

    /// The commit a Flight SQL call reads (see the module's doc).
    async fn commit_for(svc: &Embedded, metadata: &MetadataMap) -> Result<String, Status> {
        let header = metadata
            .get(REF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let reference = match header.or_else(|| cookie(metadata)) {
            Some(r) => r,
            None => svc.active_branch().await.map_err(status)?,
        };
        Ok(svc
            .resolve(&reference)
            .await
            .map_err(status)?
            .commit
            .as_str()
            .to_string())
    }

    /// Runs `ticket`'s SQL at its commit; batches stream as they are made.
    async fn run(svc: &Embedded, ticket: pb::QueryTicket) -> Result<Response<DoGetStream>, Status> {
        let commit = wire::commit_id(ticket.commit).map_err(status)?;
        let result = svc
            .query(commit.as_str(), &ticket.sql)
            .await
            .map_err(status)?;
        let batches = result
            .batches
            .map_err(|e| FlightError::Tonic(Box::new(status(e))));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(result.schema)
            .build(batches)
            .map_err(|e| match e {
                FlightError::Tonic(status) => *status,
                other => Status::internal(other.to_string()),
            });
        Ok(Response::new(stream.boxed()))
    }

    /// The schema `sql`'s answer at `commit` will have (planned, not run).
    async fn schema_of(svc: &Embedded, commit: &str, sql: &str) -> Result<Schema, Status> {
        let result = svc.query(commit, sql).await.map_err(status)?;
        Ok(result.schema.as_ref().clone())
    }

    /// Resolves a statement for `metadata`'s ref: its ticket and the schema of its answer.
    async fn plan(
        svc: &Embedded,
        metadata: &MetadataMap,
        sql: &str,
    ) -> Result<(pb::QueryTicket, Schema), Status> {
        let commit = Self::commit_for(svc, metadata).await?;
        let schema = Self::schema_of(svc, &commit, sql).await?;
        let ticket = pb::QueryTicket {
            commit,
            sql: sql.to_string(),
        };
        Ok((ticket, schema))
    }
}

/// A `FlightInfo` for `descriptor` whose one endpoint's ticket is `ticket` (clients such as
/// Arrow C++'s check that the descriptor comes back).
fn info(
    schema: &Schema,
    ticket: Any,
    descriptor: &FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("encoding a schema: {e}")))?
        .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket.encode_to_vec())))
        .with_descriptor(descriptor.clone());
    Ok(Response::new(info))
}

fn decode_ticket(bytes: &[u8]) -> Result<pb::QueryTicket, Status> {
    pb::QueryTicket::decode(bytes)
        .map_err(|e| Status::invalid_argument(format!("not a bayou statement handle: {e}")))
}

/// A batch as a `DoGet` answer.
fn batch_stream(batch: arrow::record_batch::RecordBatch) -> Result<Response<DoGetStream>, Status> {
    let stream = FlightDataEncoderBuilder::new()
        .build(futures::stream::once(async { Ok(batch) }))
        .map_err(|e| Status::internal(e.to_string()));
    Ok(Response::new(stream.boxed()))
}

fn arrow_error(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

/// The ref in the `bayou-ref` cookie, if any.
fn cookie(metadata: &MetadataMap) -> Option<String> {
    metadata
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REF_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Refuses a ref that does not resolve, or that a cookie cannot carry.
async fn checked_ref(svc: &Embedded, reference: &str) -> Result<(), Status> {
    svc.resolve(reference).await.map_err(status)?;
    if !reference
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
    {
        return Err(Status::invalid_argument(format!(
            "'{reference}' is no ref name"
        )));
    }
    Ok(())
}

/// The answer to `SET bayou.ref = 'reference'`: no rows, and the ref in a cookie the client
/// sends back with its later calls.
async fn set_ref_answer(
    svc: &Embedded,
    reference: &str,
    descriptor: &FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    checked_ref(svc, reference).await?;
    let empty = FlightInfo::new()
        .try_with_schema(&Schema::empty())
        .map_err(arrow_error)?
        .with_descriptor(descriptor.clone());
    let mut response = Response::new(empty);
    let cookie = format!("{REF_COOKIE}={reference}")
        .parse()
        .map_err(|_| Status::invalid_argument("a ref name a cookie cannot hold"))?;
    response.metadata_mut().insert("set-cookie", cookie);
    Ok(response)
}

/// The ref of a `SET bayou.ref = 'name'` (or `TO`) statement, if `sql` is one.
fn set_ref(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    let (set, name, rest) = (words.first()?, words.get(1)?, &words[2..]);
    if !set.eq_ignore_ascii_case("set") || !name.eq_ignore_ascii_case("bayou.ref") {
        return None;
    }
    let value = match rest {
        [op, value] if *op == "=" || op.eq_ignore_ascii_case("to") => *value,
        _ => return None,
    };
    let value = value.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(value.to_string())
}

#[tonic::async_trait]
impl FlightSqlService for FlightApi {
    type FlightService = FlightApi;

    async fn do_get_fallback(
        &self,
        request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<DoGetStream>, Status> {
        if message.type_url == bayou_proto::OUTPUT_TICKET_TYPE_URL {
            // A worker fetching an input of a node it was given: its exchange token, never a
            // user's key.
            let ticket = bayou_proto::v1::OutputTicket::decode(message.value)
                .map_err(|e| Status::invalid_argument(format!("not an output ticket: {e}")))?;
            let stream = self.outputs.serve(request.metadata(), ticket).await?;
            return Ok(Response::new(stream));
        }
        if message.type_url != bayou_proto::QUERY_TICKET_TYPE_URL {
            return Err(Status::invalid_argument(format!(
                "not a ticket this server gave: {}",
                message.type_url
            )));
        }
        let svc = self.caller(request.metadata()).await?;
        Self::run(&svc, decode_ticket(&message.value)?).await
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let svc = self.caller(request.metadata()).await?;
        if let Some(reference) = set_ref(&query.query) {
            return set_ref_answer(&svc, &reference, request.get_ref()).await;
        }
        let (ticket, schema) = Self::plan(&svc, request.metadata(), &query.query).await?;
        let handle = TicketStatementQuery {
            statement_handle: ticket.encode_to_vec().into(),
        };
        info(&schema, handle.as_any(), request.get_ref())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let svc = self.caller(request.metadata()).await?;
        Self::run(&svc, decode_ticket(&ticket.statement_handle)?).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let svc = self.caller(request.metadata()).await?;
        // ADBC prepares every statement: a SET is checked now and answered when executed.
        let (ticket, schema) = match set_ref(&query.query) {
            Some(reference) => {
                checked_ref(&svc, &reference).await?;
                let ticket = pb::QueryTicket {
                    commit: String::new(),
                    sql: query.query.clone(),
                };
                (ticket, Schema::empty())
            }
            None => Self::plan(&svc, request.metadata(), &query.query).await?,
        };
        let IpcMessage(dataset_schema) =
            SchemaAsIpc::new(&schema, &arrow::ipc::writer::IpcWriteOptions::default())
                .try_into()
                .map_err(arrow_error)?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: ticket.encode_to_vec().into(),
            dataset_schema,
            parameter_schema: Default::default(),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let svc = self.caller(request.metadata()).await?;
        let ticket = decode_ticket(&command.prepared_statement_handle)?;
        if let Some(reference) = set_ref(&ticket.sql) {
            return set_ref_answer(&svc, &reference, request.get_ref()).await;
        }
        // Each execution reads the ref as it is now (a later SET or commit counts).
        let (ticket, schema) = Self::plan(&svc, request.metadata(), &ticket.sql).await?;
        let handle = TicketStatementQuery {
            statement_handle: ticket.encode_to_vec().into(),
        };
        info(&schema, handle.as_any(), request.get_ref())
    }

    async fn do_get_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let svc = self.caller(request.metadata()).await?;
        Self::run(&svc, decode_ticket(&command.prepared_statement_handle)?).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        // A handle holds its whole statement: there is nothing to free on this side.
        self.caller(request.metadata()).await.map(|_| ())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(request.metadata()).await?;
        let schema = query.into_builder().schema();
        info(&schema, query.as_any(), request.get_ref())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.caller(request.metadata()).await?;
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        batch_stream(builder.build().map_err(arrow_error)?)
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(request.metadata()).await?;
        let schema = query.clone().into_builder().schema();
        info(&schema, query.as_any(), request.get_ref())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let svc = self.caller(request.metadata()).await?;
        let mut builder = query.into_builder();
        for namespace in svc.list_namespaces().await.map_err(status)? {
            builder.append(CATALOG, namespace.name);
        }
        batch_stream(builder.build().map_err(arrow_error)?)
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(request.metadata()).await?;
        let schema = query.clone().into_builder().schema();
        info(&schema, query.as_any(), request.get_ref())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let svc = self.caller(request.metadata()).await?;
        let commit = Self::commit_for(&svc, request.metadata()).await?;
        let at = wire::commit_id(commit).map_err(status)?;
        let with_schemas = query.include_schema;
        let mut builder = query.into_builder();
        for (key, _) in svc.list_tables(&at).await.map_err(status)? {
            let schema = match with_schemas {
                true => svc
                    .lake()
                    .table_at(at.as_str(), &key)
                    .await
                    .and_then(|t| t.arrow_schema())
                    .map_err(|e| status(e.into()))?
                    .as_ref()
                    .clone(),
                false => Schema::empty(),
            };
            builder
                .append(CATALOG, &key.namespace, &key.name, "TABLE", &schema)
                .map_err(arrow_error)?;
        }
        batch_stream(builder.build().map_err(arrow_error)?)
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(request.metadata()).await?;
        let schema = query.into_builder().schema();
        info(&schema, query.as_any(), request.get_ref())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.caller(request.metadata()).await?;
        let mut builder = query.into_builder();
        builder.append("TABLE");
        batch_stream(builder.build().map_err(arrow_error)?)
    }

    /// Clients that open with a handshake (JDBC does) get it answered once their API key
    /// checks out; the key stays the credential of every later call.
    async fn do_handshake(
        &self,
        request: Request<tonic::Streaming<HandshakeRequest>>,
    ) -> Result<Response<HandshakeStream>, Status> {
        self.caller(request.metadata()).await?;
        let answer = HandshakeResponse {
            protocol_version: 0,
            payload: Default::default(),
        };
        Ok(Response::new(
            futures::stream::once(async { Ok(answer) }).boxed(),
        ))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(request.metadata()).await?;
        let schema = query.clone().into_builder(self.sql_info()?).schema();
        info(&schema, query.as_any(), request.get_ref())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.caller(request.metadata()).await?;
        batch_stream(
            query
                .into_builder(self.sql_info()?)
                .build()
                .map_err(arrow_error)?,
        )
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_statements_name_a_ref_and_others_do_not() {
        assert_eq!(set_ref("SET bayou.ref = 'dev'").as_deref(), Some("dev"));
        assert_eq!(set_ref("set BAYOU.REF to 'v1';").as_deref(), Some("v1"));
        assert_eq!(set_ref("SET bayou.ref = dev"), None);
        assert_eq!(set_ref("SET search_path = 'x'"), None);
        assert_eq!(set_ref("SELECT 1"), None);
    }

    #[test]
    fn the_ref_cookie_is_found_among_others() {
        let mut m = MetadataMap::new();
        m.insert("cookie", "a=1; bayou-ref=feat; b=2".parse().unwrap());
        assert_eq!(cookie(&m).as_deref(), Some("feat"));
        assert_eq!(cookie(&MetadataMap::new()), None);
    }
}
