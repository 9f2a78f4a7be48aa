//! A worker's sessions with the control plane: attach, heartbeat, attach again when the stream
//! breaks (backing off), stop when the server refuses the worker for good.

use std::time::Duration;

use backon::BackoffBuilder as _;
use bayou_proto::v1::workers_client::WorkersClient;
use bayou_proto::v1::{ServerMessage, WorkerHello, WorkerMessage, server_message, worker_message};
use tonic::transport::Endpoint;
use tonic::{Code, Status};

use crate::stats::Stats;
use crate::tasks::{Running, Tasks};
use crate::{Error, Holdings, Options, Result};

/// What happened to a worker's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The server welcomed the worker under this session id.
    Attached { worker_id: String },
    /// The session ended or could not start; the worker attaches again.
    Lost { reason: String },
}

/// How long the server may take to answer a hello.
const WELCOME_WITHIN: Duration = Duration::from_secs(20);

/// Attaches until the server refuses the worker for good (returned as [`Error::Refused`]).
pub(crate) async fn attach_forever(
    options: &Options,
    holdings: &Holdings,
    on_session: &(dyn Fn(Change) + Sync),
) -> Result<()> {
    let backoff = || {
        backon::ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(options.max_backoff)
            .without_max_times()
            .build()
    };
    let mut delays = backoff();
    let mut stats = Stats::new(&options.cache_dir);
    loop {
        let mut welcomed = false;
        let ended = attach_once(options, holdings, &mut stats, &mut |id| {
            welcomed = true;
            on_session(Change::Attached { worker_id: id });
        })
        .await;
        // No peer may fetch with the ended session's token.
        holdings.set_token(None);
        let reason = match ended {
            Err(Error::Refused(why)) => return Err(Error::Refused(why)),
            Err(e) => e.to_string(),
            Ok(()) => "the server ended the session".to_string(),
        };
        on_session(Change::Lost { reason });
        if welcomed {
            delays = backoff();
        }
        let delay = delays.next().unwrap_or(options.max_backoff);
        tokio::time::sleep(delay).await;
    }
}

/// One session: hello, the welcome, then heartbeats until the stream ends.
async fn attach_once(
    options: &Options,
    holdings: &Holdings,
    stats: &mut Stats,
    welcomed: &mut (dyn FnMut(String) + Send),
) -> Result<()> {
    let channel = endpoint(options)?.connect().await.map_err(|e| {
        Error::Connect(format!(
            "cannot reach the server at {}: {e}",
            options.server
        ))
    })?;
    // Room for a burst of log lines; heartbeats and reports wait for room.
    let (tx, rx) = tokio::sync::mpsc::channel::<WorkerMessage>(256);
    let outbound =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let hello = WorkerHello {
        version: crate::version(),
        cores: options.cores,
        memory_bytes: options.memory_bytes,
        flight_url: options.flight_url.clone(),
    };
    send(&tx, worker_message::Message::Hello(hello)).await?;
    let mut request = tonic::Request::new(outbound);
    let bearer = format!("Bearer {}", options.key.trim())
        .parse()
        .map_err(|_| Error::Refused("the worker key holds characters no key has".into()))?;
    request.metadata_mut().insert("authorization", bearer);
    // An order carries its project's files, which may exceed gRPC's 4 MiB default.
    let mut client = WorkersClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    // A network that fails after the connection was made must not leave the worker waiting.
    let welcomed_in = async {
        let mut inbound = client.attach(request).await.map_err(refusal)?.into_inner();
        match inbound.message().await.map_err(refusal)? {
            Some(ServerMessage {
                message: Some(server_message::Message::Welcome(w)),
            }) => Ok((inbound, w)),
            _ => Err(Error::Connect(
                "the server did not welcome the worker".into(),
            )),
        }
    };
    let (mut inbound, welcome) = tokio::time::timeout(WELCOME_WITHIN, welcomed_in)
        .await
        .map_err(|_| {
            Error::Connect(format!(
                "the server did not welcome the worker within {} s",
                WELCOME_WITHIN.as_secs()
            ))
        })??;
    holdings.set_token(Some(welcome.exchange_token.clone()));
    welcomed(welcome.worker_id.clone());
    let every = Duration::from_millis(u64::from(welcome.heartbeat_ms));
    let mut beat = tokio::time::interval(every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The server answers every heartbeat: silence for three of them is a cut network, which
    // closes no stream on this side.
    let quiet = every * 3;
    let mut heard = tokio::time::Instant::now();
    // The session's nodes: dropped with it (their processes killed) when it ends, and what
    // it held of their runs released (a run's end sent to a later session would not say so).
    let mut running = Running::new(Tasks::new(options, holdings));
    loop {
        tokio::select! {
            _ = beat.tick() => {
                if heard.elapsed() > quiet {
                    return Err(Error::Connect(format!(
                        "the server has not answered for {} ms",
                        heard.elapsed().as_millis()
                    )));
                }
                let count = u32::try_from(running.len()).unwrap_or(u32::MAX);
                let sample = stats.sample(holdings, count);
                // Never waits: with the queue full of log lines the server hears from the
                // worker anyway, and this beat is skipped.
                let beat = WorkerMessage {
                    message: Some(worker_message::Message::Heartbeat(sample)),
                };
                if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) = tx.try_send(beat) {
                    return Err(Error::Connect("the session's stream closed".into()));
                }
            }
            () = running.next_ended() => {}
            message = inbound.message() => match message.map_err(refusal)? {
                Some(message) => {
                    heard = tokio::time::Instant::now();
                    match message.message {
                        Some(server_message::Message::Token(t)) => {
                            holdings.set_token(Some(t.exchange_token));
                        }
                        Some(server_message::Message::Assign(task)) => {
                            running.assign(task, tx.clone());
                        }
                        Some(server_message::Message::Release(r)) => running.release(&r.run_id),
                        _ => {}
                    }
                }
                None => return Ok(()),
            },
        }
    }
}

async fn send(
    tx: &tokio::sync::mpsc::Sender<WorkerMessage>,
    message: worker_message::Message,
) -> Result<()> {
    tx.send(WorkerMessage {
        message: Some(message),
    })
    .await
    .map_err(|_| Error::Connect("the session's stream closed".into()))
}

fn endpoint(options: &Options) -> Result<Endpoint> {
    let endpoint = bayou_proto::endpoint(&options.server, options.ca_pem.as_deref())
        .map_err(Error::Refused)?;
    Ok(endpoint
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20)))
}

/// A status that retrying cannot fix (a wrong key, another version) refuses the worker for
/// good; anything else ends this session only.
fn refusal(status: Status) -> Error {
    match status.code() {
        Code::Unauthenticated | Code::PermissionDenied | Code::FailedPrecondition => {
            Error::Refused(status.message().to_string())
        }
        _ => Error::Rpc {
            what: "the session with the server".into(),
            source: Box::new(status),
        },
    }
}
