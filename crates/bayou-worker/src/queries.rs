//! The tasks of the server's distributed queries (`datafusion_distributed::Worker`), served on
//! the worker's Flight endpoint to callers presenting the exchange token: a plan names files to
//! read, so an open endpoint would read anything this worker can for anybody.

use datafusion_distributed::{DistributedExt as _, WorkerQueryContext};
use tonic::{Request, Status};

use crate::Holdings;

/// The query worker: each task's session carries its caller's token on to the peers it reads
/// from.
pub(crate) fn worker() -> datafusion_distributed::Worker {
    datafusion_distributed::Worker::from_session_builder(|ctx: WorkerQueryContext| async move {
        let mut builder = ctx.builder;
        if let Some(auth) = ctx.headers.get(http::header::AUTHORIZATION) {
            let mut pass = http::HeaderMap::new();
            pass.insert(http::header::AUTHORIZATION, auth.clone());
            builder.set_distributed_passthrough_headers(pass)?;
        }
        Ok(builder.build())
    })
}

/// Lets through the calls presenting the exchange token of `holdings`' session.
pub(crate) fn check(
    holdings: Holdings,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |request: Request<()>| match holdings.admits(request.metadata()) {
        true => Ok(request),
        false => Err(Status::unauthenticated(
            "this worker runs query tasks only for its cluster (a wrong or stale exchange token)",
        )),
    }
}
