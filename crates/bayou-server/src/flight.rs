//! [`FlightApi`]: query results as Arrow Flight `DoGet` streams on the server's port.
//!
//! The ticket is a `bayou.v1.QueryTicket` (a commit and SQL). Batches are encoded as they come
//! out of DataFusion, so the first one leaves before the query has finished and no result is
//! held whole in memory. Only `DoGet` is served; the rest of Flight is `unimplemented`.

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use bayou_proto::v1 as pb;
use bayou_service::{Service, wire};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Auth;

#[derive(Debug, Clone)]
pub(crate) struct FlightApi {
    auth: Auth,
}

impl FlightApi {
    pub(crate) fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

fn only_do_get<T>() -> Result<T, Status> {
    Err(Status::unimplemented(
        "this server answers Flight DoGet with a bayou query ticket only",
    ))
}

#[tonic::async_trait]
impl FlightService for FlightApi {
    type HandshakeStream = BoxStream<'static, Result<HandshakeResponse, Status>>;
    type ListFlightsStream = BoxStream<'static, Result<FlightInfo, Status>>;
    type DoGetStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoPutStream = BoxStream<'static, Result<PutResult, Status>>;
    type DoExchangeStream = BoxStream<'static, Result<FlightData, Status>>;
    type DoActionStream = BoxStream<'static, Result<arrow_flight::Result, Status>>;
    type ListActionsStream = BoxStream<'static, Result<ActionType, Status>>;

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let svc = self.auth.caller(request.metadata()).await?;
        let ticket = pb::QueryTicket::decode(request.into_inner().ticket)
            .map_err(|e| Status::invalid_argument(format!("not a bayou query ticket: {e}")))?;
        let commit = wire::commit_id(ticket.commit).map_err(|e| wire::error_to_status(&e))?;
        let result = svc
            .query(commit.as_str(), &ticket.sql)
            .await
            .map_err(|e| wire::error_to_status(&e))?;
        let batches = result
            .batches
            .map_err(|e| FlightError::Tonic(Box::new(wire::error_to_status(&e))));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(result.schema)
            .build(batches)
            .map_err(|e| match e {
                FlightError::Tonic(status) => *status,
                other => Status::internal(other.to_string()),
            });
        Ok(Response::new(stream.boxed()))
    }

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        only_do_get()
    }

    async fn list_flights(
        &self,
        _: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        only_do_get()
    }

    async fn get_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        only_do_get()
    }

    async fn poll_flight_info(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        only_do_get()
    }

    async fn get_schema(
        &self,
        _: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        only_do_get()
    }

    async fn do_put(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        only_do_get()
    }

    async fn do_exchange(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        only_do_get()
    }

    async fn do_action(
        &self,
        _: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        only_do_get()
    }

    async fn list_actions(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        only_do_get()
    }
}
