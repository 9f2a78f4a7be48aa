//! [`LakeApi`]: the `bayou.v1.Lake` gRPC service, each call authenticated and then handed to the
//! in-process [`Embedded`] service acting as the key's user.

use bayou_proto::v1 as pb;
use bayou_service::{Embedded, Error, Service, wire};
use std::sync::Arc;

use bayou_runtime::Event;
use bayou_service::{RunRequest, RunSpec, RunUpdate};
use futures::StreamExt;
use futures::stream::BoxStream;
use tonic::{Request, Response, Status};

use crate::auth::Auth;
use crate::runs::{Runs, Updates};

/// The gRPC face of one lake.
#[derive(Debug, Clone)]
pub struct LakeApi {
    auth: Auth,
    runs: Arc<Runs>,
}

impl LakeApi {
    pub(crate) fn new(auth: Auth, runs: Arc<Runs>) -> Self {
        Self { auth, runs }
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Embedded, Status> {
        self.auth.caller(request.metadata()).await
    }

    /// Starts `run` as `svc`'s user. Detached: its updates up to its start, then its id, and it
    /// goes on; attached: all its updates, and a caller that goes away stops it.
    async fn start_run(&self, svc: Embedded, run: RunRequest) -> Result<RunStream, Status> {
        let detach = run.detach;
        let (updates, mut guard) = self.runs.start(svc, run);
        if detach {
            // Once started, the run is the server's: this caller hears up to its start and its
            // id. A caller that goes away before that still stops it (the guard is armed).
            let sent = until_started(updates).await?;
            guard.disarm();
            return Ok(futures::stream::iter(sent.into_iter().map(encode)).boxed());
        }
        // Attached: the stream owns the run's stop switch; a caller that goes away drops it.
        let stream = futures::stream::unfold((updates, guard), |(mut updates, guard)| async move {
            let update = updates.recv().await?;
            Some((encode(update), (updates, guard)))
        });
        Ok(stream.boxed())
    }
}

type RunStream = BoxStream<'static, Result<pb::RunUpdate, Status>>;

fn status(e: Error) -> Status {
    wire::error_to_status(&e)
}

fn invalid(what: &str) -> impl Fn(serde_json::Error) -> Status + '_ {
    move |e| Status::invalid_argument(format!("malformed {what}: {e}"))
}

fn encode(update: Result<RunUpdate, Error>) -> Result<pb::RunUpdate, Status> {
    let update = update.map_err(status)?;
    let update_json = serde_json::to_vec(&update)
        .map_err(|e| Status::internal(format!("encoding a run update: {e}")))?;
    Ok(pb::RunUpdate { update_json })
}

/// The updates of a detached run up to its start, then its id; the run goes on.
async fn until_started(mut updates: Updates) -> Result<Vec<Result<RunUpdate, Error>>, Status> {
    let mut sent = Vec::new();
    while let Some(update) = updates.recv().await {
        let started = match &update {
            Ok(RunUpdate::Event { event }) => match event.as_ref() {
                Event::Started { run_id, .. } => Some(run_id.to_string()),
                _ => None,
            },
            Ok(RunUpdate::Finished { .. }) | Err(_) => {
                sent.push(update);
                return Ok(sent);
            }
            _ => None,
        };
        sent.push(update);
        if let Some(run_id) = started {
            sent.push(Ok(RunUpdate::Detached { run_id }));
            return Ok(sent);
        }
    }
    Err(Status::internal("the run ended without a word"))
}

fn commit_id(text: String) -> Result<bayou_types::CommitId, Status> {
    wire::commit_id(text).map_err(status)
}

#[tonic::async_trait]
impl pb::lake_server::Lake for LakeApi {
    type RunStream = RunStream;
    type FollowRunStream = RunStream;
    type RerunStream = RunStream;
    type WriteTableStream = crate::writes::Outputs;

    async fn plan_table(
        &self,
        request: Request<pb::PlanTableRequest>,
    ) -> Result<Response<pb::TablePlan>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let table = req
            .request
            .ok_or_else(|| Status::invalid_argument("a plan request names its table"))?;
        let plan = svc
            .plan_table(
                &wire::table_request_from_wire(table),
                &bayou_service::FileSource::Uri(req.search_uri),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(wire::plan_to_wire(&plan)))
    }

    async fn write_table(
        &self,
        request: Request<tonic::Streaming<pb::WriteTableInput>>,
    ) -> Result<Response<Self::WriteTableStream>, Status> {
        let svc = self.caller(&request).await?;
        let outputs = crate::writes::write_table(svc, request.into_inner()).await?;
        Ok(Response::new(outputs))
    }

    async fn collect_garbage(
        &self,
        request: Request<pb::CollectGarbageRequest>,
    ) -> Result<Response<pb::GarbageReport>, Status> {
        let svc = self.caller(&request).await?;
        let req = wire::gc_request_from_wire(request.into_inner());
        let report = svc.collect_garbage(&req).await.map_err(status)?;
        Ok(Response::new(wire::gc_report_to_wire(&report)))
    }

    async fn check_lake(
        &self,
        request: Request<pb::CheckLakeRequest>,
    ) -> Result<Response<pb::LakeCheck>, Status> {
        let svc = self.caller(&request).await?;
        let report = svc.check_lake().await.map_err(status)?;
        Ok(Response::new(wire::check_to_wire(&report)))
    }

    async fn encrypt_secret(
        &self,
        request: Request<pb::EncryptSecretRequest>,
    ) -> Result<Response<pb::EncryptSecretResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let ciphertext = svc
            .encrypt_secret(&req.name, &req.plaintext)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::EncryptSecretResponse { ciphertext }))
    }

    async fn create_external_table(
        &self,
        request: Request<pb::CreateExternalTableRequest>,
    ) -> Result<Response<pb::WriteOutcome>, Status> {
        let svc = self.caller(&request).await?;
        let req = wire::external_request_from_wire(request.into_inner());
        let outcome = svc.create_external_table(&req).await.map_err(status)?;
        Ok(Response::new(wire::write_outcome_to_wire(&outcome)))
    }

    async fn follow_run(
        &self,
        request: Request<pb::FollowRunRequest>,
    ) -> Result<Response<Self::FollowRunStream>, Status> {
        let svc = self.caller(&request).await?;
        let id = request.into_inner().id;
        // The feed first: a run that ends after this still has its record saved before its
        // feed closes, so the record read at the end is the final one.
        let feed = self.runs.feed(&id);
        let Some(record) = svc.get_run(&id).await.map_err(status)? else {
            return Err(status(Error::Usage(bayou_runtime::unknown_run(&id))));
        };
        let Some(feed) = feed else {
            let done = RunUpdate::Finished {
                record: Box::new(record),
            };
            return Ok(Response::new(
                futures::stream::iter([encode(Ok(done))]).boxed(),
            ));
        };
        let (history, live) = feed.follow();
        let past = futures::stream::iter(history).map(|event| {
            encode(Ok(RunUpdate::Event {
                event: Box::new(event),
            }))
        });
        let live = futures::stream::unfold(live, |mut live| async move {
            let event = match live.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => Event::Warning {
                    message: format!("this follower fell behind: {missed} events missed"),
                },
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let update = RunUpdate::Event {
                event: Box::new(event),
            };
            Some((encode(Ok(update)), live))
        });
        // Then the record as the run left it.
        let end = futures::stream::once(async move {
            match svc.get_run(&id).await {
                Ok(Some(record)) => encode(Ok(RunUpdate::Finished {
                    record: Box::new(record),
                })),
                Ok(None) => Err(Status::not_found(format!("run {id} vanished"))),
                Err(e) => Err(status(e)),
            }
        });
        Ok(Response::new(past.chain(live).chain(end).boxed()))
    }

    async fn get_code(
        &self,
        request: Request<pb::GetCodeRequest>,
    ) -> Result<Response<pb::GetCodeResponse>, Status> {
        let svc = self.caller(&request).await?;
        let files = svc
            .code(&request.into_inner().code_hash)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetCodeResponse {
            files: files
                .into_iter()
                .map(|(path, text)| pb::ProjectFile { path, text })
                .collect(),
        }))
    }

    async fn has_code(
        &self,
        request: Request<pb::HasCodeRequest>,
    ) -> Result<Response<pb::HasCodeResponse>, Status> {
        let svc = self.caller(&request).await?;
        let present = svc
            .has_code(&request.into_inner().code_hash)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::HasCodeResponse { present }))
    }

    async fn run(
        &self,
        request: Request<pb::RunRequest>,
    ) -> Result<Response<Self::RunStream>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let spec: RunSpec = serde_json::from_slice(&req.spec_json).map_err(invalid("run spec"))?;
        let run = RunRequest {
            code_hash: req.code_hash,
            files: req.files.into_iter().map(|f| (f.path, f.text)).collect(),
            spec,
            detach: req.detach,
        };
        Ok(Response::new(self.start_run(svc, run).await?))
    }

    async fn rerun(
        &self,
        request: Request<pb::RerunRequest>,
    ) -> Result<Response<Self::RerunStream>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let Some(past) = svc.get_run(&req.id).await.map_err(status)? else {
            return Err(status(Error::Usage(bayou_runtime::unknown_run(&req.id))));
        };
        let files = svc.code(&past.code_hash).await.map_err(status)?;
        // Writing and parsing the snapshot is file work: off the async threads.
        let snapshot = files.clone();
        let (_dir, project) =
            tokio::task::spawn_blocking(move || bayou_service::load_snapshot(&snapshot))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(status)?;
        let options = bayou_service::ReplayOptions {
            publish: req.publish,
            ..Default::default()
        };
        let run = RunRequest {
            code_hash: past.code_hash.clone(),
            files,
            spec: bayou_service::replay_spec(&past, &project, options),
            detach: req.detach,
        };
        Ok(Response::new(self.start_run(svc, run).await?))
    }

    async fn get_run(
        &self,
        request: Request<pb::GetRunRequest>,
    ) -> Result<Response<pb::GetRunResponse>, Status> {
        let svc = self.caller(&request).await?;
        let record = svc
            .get_run(&request.into_inner().id)
            .await
            .map_err(status)?;
        let record_json = record
            .map(|r| serde_json::to_vec(&r))
            .transpose()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::GetRunResponse { record_json }))
    }

    async fn list_runs(
        &self,
        request: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX).min(1000);
        let filter = bayou_service::RunFilter {
            status: req.status,
            user: req.user,
            kind: req.kind,
            branch: req.branch,
            ..Default::default()
        };
        let records = svc.list_runs(&filter, limit).await.map_err(status)?;
        let records_json = records
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::ListRunsResponse { records_json }))
    }

    async fn cancel_run(
        &self,
        request: Request<pb::CancelRunRequest>,
    ) -> Result<Response<pb::CancelRunResponse>, Status> {
        let svc = self.caller(&request).await?;
        let id = request.into_inner().id;
        // A run is stopped by the user who started it.
        let caller = svc.whoami().await.map_err(status)?;
        if let Some(record) = svc.get_run(&id).await.map_err(status)?
            && !record.user.is_empty()
            && record.user != caller
        {
            return Err(status(Error::Forbidden(format!(
                "run {id} belongs to {}: only they can stop it",
                record.user
            ))));
        }
        if !self.runs.cancel(&id).await {
            // Not going on here: a record left "running" (say, by a crash) is closed.
            svc.cancel_run(&id).await.map_err(status)?;
        }
        Ok(Response::new(pb::CancelRunResponse {}))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let svc = self.caller(&request).await?;
        let user = svc.whoami().await.map_err(status)?;
        Ok(Response::new(pb::WhoAmIResponse { user }))
    }

    async fn active_branch(
        &self,
        request: Request<pb::ActiveBranchRequest>,
    ) -> Result<Response<pb::ActiveBranchResponse>, Status> {
        let svc = self.caller(&request).await?;
        let branch = svc.active_branch().await.map_err(status)?;
        Ok(Response::new(pb::ActiveBranchResponse { branch }))
    }

    async fn list_refs(
        &self,
        request: Request<pb::ListRefsRequest>,
    ) -> Result<Response<pb::ListRefsResponse>, Status> {
        let svc = self.caller(&request).await?;
        let refs = svc.list_refs().await.map_err(status)?;
        Ok(Response::new(pb::ListRefsResponse {
            refs: refs.iter().map(wire::ref_to_wire).collect(),
        }))
    }

    async fn resolve(
        &self,
        request: Request<pb::ResolveRequest>,
    ) -> Result<Response<pb::Resolved>, Status> {
        let svc = self.caller(&request).await?;
        let resolved = svc
            .resolve(&request.into_inner().spec)
            .await
            .map_err(status)?;
        Ok(Response::new(wire::resolved_to_wire(&resolved)))
    }

    async fn create_ref(
        &self,
        request: Request<pb::CreateRefRequest>,
    ) -> Result<Response<pb::Ref>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let kind = wire::ref_kind_from_wire(req.kind).map_err(status)?;
        let r = svc
            .create_ref(&req.name, kind, &req.from)
            .await
            .map_err(status)?;
        Ok(Response::new(wire::ref_to_wire(&r)))
    }

    async fn delete_ref(
        &self,
        request: Request<pb::DeleteRefRequest>,
    ) -> Result<Response<pb::Ref>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let kind = wire::ref_kind_from_wire(req.kind).map_err(status)?;
        let r = svc.delete_ref(&req.name, kind).await.map_err(status)?;
        Ok(Response::new(wire::ref_to_wire(&r)))
    }

    async fn rename_branch(
        &self,
        request: Request<pb::RenameBranchRequest>,
    ) -> Result<Response<pb::RenameBranchResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        svc.rename_branch(&req.from, &req.to)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RenameBranchResponse {}))
    }

    async fn set_active_branch(
        &self,
        request: Request<pb::SetActiveBranchRequest>,
    ) -> Result<Response<pb::SetActiveBranchResponse>, Status> {
        let svc = self.caller(&request).await?;
        svc.set_active_branch(&request.into_inner().branch)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SetActiveBranchResponse {}))
    }

    async fn merge(
        &self,
        request: Request<pb::MergeRequest>,
    ) -> Result<Response<pb::MergeResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let outcome = svc.merge(&req.source, &req.into).await.map_err(status)?;
        Ok(Response::new(wire::merge_to_wire(&outcome)))
    }

    async fn table_info(
        &self,
        request: Request<pb::TableInfoRequest>,
    ) -> Result<Response<pb::TableInfoResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let key = wire::table_key(req.namespace, req.name).map_err(status)?;
        let info = svc.table_info(&req.reference, &key).await.map_err(status)?;
        Ok(Response::new(wire::table_info_to_wire(&info)))
    }

    async fn drop_table(
        &self,
        request: Request<pb::DropTableRequest>,
    ) -> Result<Response<pb::CommitResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let key = wire::table_key(req.namespace, req.name).map_err(status)?;
        let commit = svc.drop_table(&req.branch, &key).await.map_err(status)?;
        Ok(Response::new(pb::CommitResponse {
            commit: commit.as_str().into(),
        }))
    }

    async fn revert_table(
        &self,
        request: Request<pb::RevertTableRequest>,
    ) -> Result<Response<pb::CommitResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let key = wire::table_key(req.namespace, req.name).map_err(status)?;
        let commit = svc
            .revert_table(&req.branch, &key, &req.reference)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CommitResponse {
            commit: commit.as_str().into(),
        }))
    }

    async fn list_tables(
        &self,
        request: Request<pb::ListTablesRequest>,
    ) -> Result<Response<pb::ListTablesResponse>, Status> {
        let svc = self.caller(&request).await?;
        let at = commit_id(request.into_inner().commit)?;
        let tables = svc.list_tables(&at).await.map_err(status)?;
        Ok(Response::new(pb::ListTablesResponse {
            tables: tables.iter().map(wire::table_to_wire).collect(),
        }))
    }

    async fn diff(
        &self,
        request: Request<pb::DiffRequest>,
    ) -> Result<Response<pb::DiffResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let (a, b) = (commit_id(req.a)?, commit_id(req.b)?);
        let entries = svc.diff(&a, &b).await.map_err(status)?;
        Ok(Response::new(pb::DiffResponse {
            entries: entries.iter().map(wire::diff_to_wire).collect(),
        }))
    }

    async fn log(
        &self,
        request: Request<pb::LogRequest>,
    ) -> Result<Response<pb::LogResponse>, Status> {
        let svc = self.caller(&request).await?;
        let req = request.into_inner();
        let at = commit_id(req.at)?;
        let after = req.after.map(commit_id).transpose()?;
        // One answer holds at most this many commits; clients page with `after`.
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX).min(10_000);
        let commits = svc.log(&at, limit, after.as_ref()).await.map_err(status)?;
        Ok(Response::new(pb::LogResponse {
            commits: commits.iter().map(wire::commit_to_wire).collect(),
        }))
    }

    async fn list_namespaces(
        &self,
        request: Request<pb::ListNamespacesRequest>,
    ) -> Result<Response<pb::ListNamespacesResponse>, Status> {
        let svc = self.caller(&request).await?;
        let namespaces = svc.list_namespaces().await.map_err(status)?;
        Ok(Response::new(pb::ListNamespacesResponse {
            namespaces: namespaces.iter().map(wire::namespace_to_wire).collect(),
        }))
    }

    async fn create_namespace(
        &self,
        request: Request<pb::CreateNamespaceRequest>,
    ) -> Result<Response<pb::CreateNamespaceResponse>, Status> {
        let svc = self.caller(&request).await?;
        let created = svc
            .create_namespace(&request.into_inner().name)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreateNamespaceResponse { created }))
    }

    async fn delete_namespace(
        &self,
        request: Request<pb::DeleteNamespaceRequest>,
    ) -> Result<Response<pb::DeleteNamespaceResponse>, Status> {
        let svc = self.caller(&request).await?;
        svc.delete_namespace(&request.into_inner().name)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteNamespaceResponse {}))
    }
}
