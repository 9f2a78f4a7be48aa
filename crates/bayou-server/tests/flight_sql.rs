//! Flight SQL calls ADBC's tests do not make: the handshake JDBC opens with.

mod common;

use arrow_flight::HandshakeRequest;
use arrow_flight::flight_service_client::FlightServiceClient;

async fn handshake(served: &common::Served, key: Option<&str>) -> Result<(), tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(served.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = FlightServiceClient::new(channel);
    let mut request = tonic::Request::new(futures::stream::iter([HandshakeRequest::default()]));
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    let mut answers = client.handshake(request).await?.into_inner();
    while answers.message().await?.is_some() {}
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_is_answered_for_a_valid_key_only() {
    let served = common::serve().await;
    handshake(&served, Some(&served.token)).await.unwrap();
    let refused = handshake(&served, None).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let forged = handshake(&served, Some("bayou_nope_nope"))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), tonic::Code::Unauthenticated, "{forged:?}");
}
