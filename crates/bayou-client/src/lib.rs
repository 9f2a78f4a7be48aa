//! [`Remote`]: the [`Service`] API of a `bayou server`, over gRPC.
//!
//! Entry point: [`Remote::new`]. Every call carries the API key; errors come back as the same
//! [`bayou_service::Error`] (kind and message) the embedded service would give. Trade-off: the
//! connection is made lazily on the first call, so `Remote::new` never blocks, and an
//! unreachable server is reported by the first command that needs it, naming the URL.

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use async_trait::async_trait;
use bayou_proto::v1 as pb;
use bayou_proto::v1::lake_client::LakeClient;
use bayou_proto::v1::workers_client::WorkersClient;
use bayou_proto::v1::write_table_output::Part as Out;
use bayou_proto::v1::write_table_start::What;
use bayou_service::{
    CheckReport, Commit, DiffEntry, Error, ErrorKind, ExternalRequest, FileSource, GcReport,
    GcRequest, ImportRequest, Imported, MergeOutcome, Namespace, OnEvent, Progress, QueryResult,
    Ref, RefKind, Resolved, Result, RunFilter, RunOutcome, RunRecord, RunRequest, RunUpdate,
    Service, TableInfo, TablePlan, TableRequest, TableState, WriteOutcome, wire,
};
use bayou_types::{CommitId, TableKey};
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

mod writes;

pub use bayou_proto::v1::{WorkerInfo, WorkerStats};

/// Adds the API key to every request.
#[derive(Debug, Clone)]
struct Key(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Key {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

fn malformed_update() -> Error {
    Error::Remote {
        kind: ErrorKind::Other,
        message: "the server answered a follow with a detached run".into(),
    }
}

type Updates = std::result::Result<tonic::Response<tonic::Streaming<pb::RunUpdate>>, tonic::Status>;

impl Remote {
    /// Hands a run's events to `on_event` as they arrive, until its end (or detach).
    async fn updates(
        &self,
        response: Updates,
        on_event: OnEvent<'_>,
        what: &str,
    ) -> Result<RunOutcome> {
        let mut updates = response.map_err(|s| self.error(s))?.into_inner();
        while let Some(update) = updates.message().await.map_err(|s| self.error(s))? {
            let update: RunUpdate =
                serde_json::from_slice(&update.update_json).map_err(|e| malformed(&e))?;
            match update {
                RunUpdate::Event { event } => on_event(*event),
                RunUpdate::Finished { record } => return Ok(RunOutcome::Finished(record)),
                RunUpdate::Detached { run_id } => return Ok(RunOutcome::Detached(run_id)),
            }
        }
        Err(Error::Remote {
            kind: ErrorKind::Unavailable,
            message: format!(
                "the server at {} stopped answering before {what} ended\n  hint: `bayou job ls` shows what became of it",
                self.url
            ),
        })
    }
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::Remote {
        kind: ErrorKind::Other,
        message: format!("a malformed run message crossed the wire: {e}"),
    }
}

/// Whether calls to `url` cross a network unencrypted: `http://` to a host other than this one.
pub fn sends_in_clear(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(host.eq_ignore_ascii_case("localhost"));
    !loopback
}

/// A `bayou server`, reached at one URL with one API key.
#[derive(Debug, Clone)]
pub struct Remote {
    url: String,
    client: LakeClient<InterceptedService<Channel, Key>>,
    flight: FlightServiceClient<InterceptedService<Channel, Key>>,
    workers: WorkersClient<InterceptedService<Channel, Key>>,
}

impl Remote {
    /// A client of the server at `url` (`http://host:port`, or `https://` checked against the
    /// system's CAs and `ca_pem`), calling with `api_key`.
    pub fn new(url: &str, api_key: Option<&str>, ca_pem: Option<&[u8]>) -> Result<Self> {
        let invalid = |message: String| Error::Remote {
            kind: ErrorKind::InvalidArgument,
            message,
        };
        let endpoint = bayou_proto::endpoint(url, ca_pem).map_err(invalid)?;
        let key = match api_key {
            Some(k) => Some(format!("Bearer {}", k.trim()).parse().map_err(|_| {
                invalid("the API key holds characters no key has\n  hint: copy it again from `bayou server key create`".into())
            })?),
            None => None,
        };
        let channel = endpoint.connect_lazy();
        Ok(Self {
            url: url.to_string(),
            // Run records and code snapshots may be larger than gRPC's 4 MiB default.
            client: LakeClient::with_interceptor(channel.clone(), Key(key.clone()))
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20),
            workers: WorkersClient::with_interceptor(channel.clone(), Key(key.clone())),
            // Query results come over Arrow Flight on the same connection.
            flight: FlightServiceClient::with_interceptor(channel, Key(key))
                .max_decoding_message_size(usize::MAX),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The workers attached to the server, and the ones lost lately (`bayou worker ls`).
    pub async fn list_workers(&self) -> Result<Vec<pb::WorkerInfo>> {
        let listed = self
            .workers
            .clone()
            .list_workers(pb::ListWorkersRequest {})
            .await;
        Ok(listed.map_err(|s| self.error(s))?.into_inner().workers)
    }

    fn client(&self) -> LakeClient<InterceptedService<Channel, Key>> {
        self.client.clone()
    }

    fn error(&self, status: tonic::Status) -> Error {
        // Transport failures carry no bayou kind: say which server could not be reached.
        let from_bayou = status.metadata().get("bayou-error-kind").is_some();
        if !from_bayou
            && matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown
            )
        {
            return Error::Remote {
                kind: ErrorKind::Unavailable,
                message: format!(
                    "cannot reach the bayou server at {}: {}\n  hint: is `bayou server` running there? Check --remote / BAYOU_REMOTE",
                    self.url,
                    status.message()
                ),
            };
        }
        wire::error_from_status(&status)
    }
}

#[async_trait]
impl Service for Remote {
    fn describe(&self) -> String {
        format!("{} (bayou server)", self.url)
    }

    async fn set_active_branch(&self, branch: &str) -> Result<()> {
        let request = pb::SetActiveBranchRequest {
            branch: branch.into(),
        };
        let r = self.client().set_active_branch(request).await;
        r.map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn merge(&self, source: &str, into: &str) -> Result<MergeOutcome> {
        let request = pb::MergeRequest {
            source: source.into(),
            into: into.into(),
        };
        let r = self.client().merge(request).await;
        wire::merge_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn table_info(&self, reference: &str, key: &TableKey) -> Result<TableInfo> {
        let request = pb::TableInfoRequest {
            reference: reference.into(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        };
        let r = self.client().table_info(request).await;
        Ok(wire::table_info_from_wire(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }

    async fn drop_table(&self, branch: &str, key: &TableKey) -> Result<CommitId> {
        let request = pb::DropTableRequest {
            branch: branch.into(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        };
        let r = self.client().drop_table(request).await;
        wire::commit_id(r.map_err(|s| self.error(s))?.into_inner().commit)
    }

    async fn revert_table(
        &self,
        branch: &str,
        key: &TableKey,
        reference: &str,
    ) -> Result<CommitId> {
        let request = pb::RevertTableRequest {
            branch: branch.into(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            reference: reference.into(),
        };
        let r = self.client().revert_table(request).await;
        wire::commit_id(r.map_err(|s| self.error(s))?.into_inner().commit)
    }

    async fn whoami(&self) -> Result<String> {
        let r = self.client().who_am_i(pb::WhoAmIRequest {}).await;
        Ok(r.map_err(|s| self.error(s))?.into_inner().user)
    }

    async fn active_branch(&self) -> Result<String> {
        let r = self
            .client()
            .active_branch(pb::ActiveBranchRequest {})
            .await;
        Ok(r.map_err(|s| self.error(s))?.into_inner().branch)
    }

    async fn list_refs(&self) -> Result<Vec<Ref>> {
        let r = self.client().list_refs(pb::ListRefsRequest {}).await;
        let refs = r.map_err(|s| self.error(s))?.into_inner().refs;
        refs.into_iter().map(wire::ref_from_wire).collect()
    }

    async fn resolve(&self, spec: &str) -> Result<Resolved> {
        let r = self
            .client()
            .resolve(pb::ResolveRequest { spec: spec.into() })
            .await;
        wire::resolved_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn create_ref(&self, name: &str, kind: RefKind, from: &str) -> Result<Ref> {
        let request = pb::CreateRefRequest {
            name: name.into(),
            kind: wire::ref_kind_to_wire(kind),
            from: from.into(),
        };
        let r = self.client().create_ref(request).await;
        wire::ref_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn delete_ref(&self, name: &str, kind: RefKind) -> Result<Ref> {
        let request = pb::DeleteRefRequest {
            name: name.into(),
            kind: wire::ref_kind_to_wire(kind),
        };
        let r = self.client().delete_ref(request).await;
        wire::ref_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn rename_branch(&self, from: &str, to: &str) -> Result<()> {
        let request = pb::RenameBranchRequest {
            from: from.into(),
            to: to.into(),
        };
        let r = self.client().rename_branch(request).await;
        r.map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn list_tables(&self, at: &CommitId) -> Result<Vec<(TableKey, TableState)>> {
        let request = pb::ListTablesRequest {
            commit: at.as_str().into(),
        };
        let r = self.client().list_tables(request).await;
        let tables = r.map_err(|s| self.error(s))?.into_inner().tables;
        tables.into_iter().map(wire::table_from_wire).collect()
    }

    async fn diff(&self, a: &CommitId, b: &CommitId) -> Result<Vec<DiffEntry>> {
        let request = pb::DiffRequest {
            a: a.as_str().into(),
            b: b.as_str().into(),
        };
        let r = self.client().diff(request).await;
        let entries = r.map_err(|s| self.error(s))?.into_inner().entries;
        entries.into_iter().map(wire::diff_from_wire).collect()
    }

    async fn log(
        &self,
        at: &CommitId,
        limit: usize,
        after: Option<&CommitId>,
    ) -> Result<Vec<Commit>> {
        let mut out: Vec<Commit> = Vec::new();
        let mut at = at.clone();
        let mut after = after.cloned();
        // The server answers in pages; each next page starts at the parent of the last commit.
        while out.len() < limit {
            let request = pb::LogRequest {
                at: at.as_str().into(),
                limit: u64::try_from(limit - out.len()).unwrap_or(u64::MAX),
                after: after.take().map(|a| a.as_str().into()),
            };
            let r = self.client().log(request).await;
            let page = r.map_err(|s| self.error(s))?.into_inner().commits;
            if page.is_empty() {
                break;
            }
            for c in page {
                out.push(wire::commit_from_wire(c)?);
            }
            match out.last().and_then(|c| c.parents.first()) {
                Some(parent) => at = parent.clone(),
                None => break,
            }
        }
        Ok(out)
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>> {
        let r = self
            .client()
            .list_namespaces(pb::ListNamespacesRequest {})
            .await;
        let namespaces = r.map_err(|s| self.error(s))?.into_inner().namespaces;
        Ok(namespaces
            .into_iter()
            .map(wire::namespace_from_wire)
            .collect())
    }

    async fn create_namespace(&self, name: &str) -> Result<bool> {
        let request = pb::CreateNamespaceRequest { name: name.into() };
        let r = self.client().create_namespace(request).await;
        Ok(r.map_err(|s| self.error(s))?.into_inner().created)
    }

    async fn delete_namespace(&self, name: &str) -> Result<()> {
        let request = pb::DeleteNamespaceRequest { name: name.into() };
        let r = self.client().delete_namespace(request).await;
        r.map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn code(&self, code_hash: &str) -> Result<Vec<(String, String)>> {
        let request = pb::GetCodeRequest {
            code_hash: code_hash.into(),
        };
        let r = self.client().get_code(request).await;
        let files = r.map_err(|s| self.error(s))?.into_inner().files;
        Ok(files.into_iter().map(|f| (f.path, f.text)).collect())
    }

    async fn has_code(&self, code_hash: &str) -> Result<bool> {
        let request = pb::HasCodeRequest {
            code_hash: code_hash.into(),
        };
        let r = self.client().has_code(request).await;
        Ok(r.map_err(|s| self.error(s))?.into_inner().present)
    }

    async fn plan_table(&self, request: &TableRequest, files: &FileSource) -> Result<TablePlan> {
        if !files.is_object_store() {
            // Local files are surveyed here: only their schemas matter, nothing is sent.
            return bayou_service::plan_here(request, files.uri()).await;
        }
        let r = self
            .client()
            .plan_table(pb::PlanTableRequest {
                request: Some(wire::table_request_to_wire(request)),
                search_uri: files.uri().to_string(),
            })
            .await;
        Ok(wire::plan_from_wire(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }

    async fn create_table(
        &self,
        request: &TableRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let what = What::Create(wire::table_request_to_wire(request));
        match self.write_table(what, files, false, progress).await?.0 {
            Out::Written(o) => wire::write_outcome_from_wire(o),
            _ => Err(writes::unexpected()),
        }
    }

    async fn apply_table_plan(
        &self,
        plan: &TablePlan,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<WriteOutcome> {
        let what = What::Apply(wire::plan_to_wire(plan));
        match self.write_table(what, files, false, progress).await?.0 {
            Out::Written(o) => wire::write_outcome_from_wire(o),
            _ => Err(writes::unexpected()),
        }
    }

    async fn import_data(
        &self,
        request: &ImportRequest,
        files: &FileSource,
        progress: Progress<'_>,
    ) -> Result<Imported> {
        let what = What::Import(wire::import_request_to_wire(request));
        let skip = request.continue_on_error;
        match self.write_table(what, files, skip, progress).await? {
            (Out::Imported(i), skipped) => {
                // Files left out here come first, as an embedded import lists them.
                let mut imported = wire::imported_from_wire(i)?;
                let here = skipped
                    .into_iter()
                    .map(|(f, why)| format!("skipped {f}: {why}"));
                imported.notes.splice(0..0, here);
                Ok(imported)
            }
            _ => Err(writes::unexpected()),
        }
    }

    async fn collect_garbage(&self, request: &GcRequest) -> Result<GcReport> {
        let r = self
            .client()
            .collect_garbage(wire::gc_request_to_wire(request))
            .await;
        wire::gc_report_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn check_lake(&self) -> Result<CheckReport> {
        let r = self.client().check_lake(pb::CheckLakeRequest {}).await;
        wire::check_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn encrypt_secret(&self, name: &str, plaintext: &str) -> Result<String> {
        let r = self
            .client()
            .encrypt_secret(pb::EncryptSecretRequest {
                name: name.into(),
                plaintext: plaintext.into(),
            })
            .await;
        Ok(r.map_err(|s| self.error(s))?.into_inner().ciphertext)
    }

    async fn create_external_table(&self, request: &ExternalRequest) -> Result<WriteOutcome> {
        let r = self
            .client()
            .create_external_table(wire::external_request_to_wire(request))
            .await;
        wire::write_outcome_from_wire(r.map_err(|s| self.error(s))?.into_inner())
    }

    async fn run(&self, request: RunRequest, on_event: OnEvent<'_>) -> Result<RunOutcome> {
        let request = pb::RunRequest {
            code_hash: request.code_hash,
            files: request
                .files
                .into_iter()
                .map(|(path, text)| pb::ProjectFile { path, text })
                .collect(),
            spec_json: serde_json::to_vec(&request.spec).map_err(|e| malformed(&e))?,
            detach: request.detach,
        };
        let r = self.client().run(request).await;
        // Dropping this future (Ctrl-C) drops the stream: the server stops the run.
        self.updates(r, on_event, "the run").await
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>> {
        let r = self
            .client()
            .get_run(pb::GetRunRequest { id: id.into() })
            .await;
        let record = r.map_err(|s| self.error(s))?.into_inner().record_json;
        record
            .map(|json| serde_json::from_slice(&json).map_err(|e| malformed(&e)))
            .transpose()
    }

    async fn list_runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunRecord>> {
        let request = pb::ListRunsRequest {
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            status: filter.status.clone(),
            user: filter.user.clone(),
            kind: filter.kind.clone(),
            branch: filter.branch.clone(),
        };
        let r = self.client().list_runs(request).await;
        let records = r.map_err(|s| self.error(s))?.into_inner().records_json;
        records
            .iter()
            .map(|json| serde_json::from_slice(json).map_err(|e| malformed(&e)))
            .collect()
    }

    async fn follow_run(&self, id: &str, on_event: OnEvent<'_>) -> Result<RunRecord> {
        let r = self
            .client()
            .follow_run(pb::FollowRunRequest { id: id.into() })
            .await;
        match self.updates(r, on_event, &format!("run {id}")).await? {
            RunOutcome::Finished(record) => Ok(*record),
            RunOutcome::Detached(_) => Err(malformed_update()),
        }
    }

    async fn cancel_run(&self, id: &str) -> Result<()> {
        let r = self
            .client()
            .cancel_run(pb::CancelRunRequest { id: id.into() })
            .await;
        r.map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn query(&self, reference: &str, sql: &str) -> Result<QueryResult> {
        // Resolve first, so the answer names the commit it read even if the ref moves.
        let commit = self.resolve(reference).await?.commit;
        let ticket = pb::QueryTicket {
            commit: commit.as_str().into(),
            sql: sql.into(),
        };
        let wrapped = arrow_flight::sql::Any {
            type_url: bayou_proto::QUERY_TICKET_TYPE_URL.into(),
            value: ticket.encode_to_vec().into(),
        };
        let request = arrow_flight::Ticket {
            ticket: wrapped.encode_to_vec().into(),
        };
        let response = self.flight.clone().do_get(request).await;
        let data = response
            .map_err(|s| self.error(s))?
            .into_inner()
            .map_err(|s| FlightError::Tonic(Box::new(s)));
        let mut stream = FlightRecordBatchStream::new_from_flight_data(data);
        let this = self.clone();
        let to_error = move |e: FlightError| match e {
            FlightError::Tonic(status) => this.error(*status),
            other => Error::Remote {
                kind: ErrorKind::Other,
                message: format!("reading the query's answer: {other}"),
            },
        };
        // The schema message comes first; read up to the first batch to learn it.
        let first = stream.next().await.transpose().map_err(&to_error)?;
        let schema = stream.schema().cloned().ok_or_else(|| Error::Remote {
            kind: ErrorKind::Other,
            message: "the server's answer carried no schema".into(),
        })?;
        let batches = futures::stream::iter(first.map(Ok))
            .chain(stream.map_err(to_error))
            .boxed();
        Ok(QueryResult {
            schema,
            commit,
            batches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sends_in_clear;

    #[test]
    fn only_plain_http_to_another_host_is_in_clear() {
        for url in [
            "http://10.0.0.5:8181",
            "http://lakehost:8181",
            "http://lakehost",
        ] {
            assert!(sends_in_clear(url), "{url}");
        }
        for url in [
            "https://lakehost:8181",
            "http://127.0.0.1:8181",
            "http://localhost:8181",
            "http://[::1]:8181",
        ] {
            assert!(!sends_in_clear(url), "{url}");
        }
    }
}
