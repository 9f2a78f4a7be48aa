//! [`LakeApi`]: the `bayou.v1.Lake` gRPC service, each call authenticated and then handed to the
//! in-process [`Embedded`] service acting as the key's user.

use bayou_proto::v1 as pb;
use bayou_service::{Embedded, Error, Service, wire};
use tonic::{Request, Response, Status};

use crate::auth::Auth;

/// The gRPC face of one lake.
#[derive(Debug, Clone)]
pub struct LakeApi {
    auth: Auth,
}

impl LakeApi {
    pub(crate) fn new(auth: Auth) -> Self {
        Self { auth }
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Embedded, Status> {
        self.auth.caller(request.metadata()).await
    }
}

fn status(e: Error) -> Status {
    wire::error_to_status(&e)
}

fn commit_id(text: String) -> Result<bayou_types::CommitId, Status> {
    wire::commit_id(text).map_err(status)
}

#[tonic::async_trait]
impl pb::lake_server::Lake for LakeApi {
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
