//! One worker's session, as two halves that never wait on each other: a reader task takes the
//! worker's messages as they come (heartbeats answered, node updates handed on, three
//! heartbeats of silence or a revoked key ending the session), and the response stream sends
//! what is queued for the worker (acks, orders, new tokens). Were the reading done by the
//! response stream, a full HTTP/2 window towards the worker would stop the server reading
//! from it too, and both sides would wait for good.

use std::time::Duration;

use bayou_proto::v1::{ExchangeToken, HeartbeatAck, ServerMessage, WorkerMessage};
use bayou_proto::v1::{server_message, worker_message};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tonic::Streaming;

use crate::auth::Auth;
use crate::workers::{RECHECK_EVERY, Registry, Session, Update};

/// What the reader of a session owns: when it ends, so does the session.
pub(crate) struct Reading {
    pub(crate) inbound: Streaming<WorkerMessage>,
    pub(crate) session: Session,
    pub(crate) quiet: Duration,
    pub(crate) auth: Auth,
    /// The worker's key, checked again every [`RECHECK_EVERY`] heartbeats.
    pub(crate) token: String,
    /// Where acks go (the response stream sends them).
    pub(crate) out: UnboundedSender<ServerMessage>,
}

impl Reading {
    /// Reads until the worker goes quiet, hangs up, breaks the stream or loses its key.
    async fn read(mut self) {
        let mut beats: u32 = 0;
        loop {
            let next = match tokio::time::timeout(self.quiet, self.inbound.message()).await {
                Ok(Ok(Some(m))) => m,
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return,
            };
            let registry = &self.session.registry;
            match next.message {
                Some(worker_message::Message::Heartbeat(stats)) => {
                    beats = beats.wrapping_add(1);
                    if beats.is_multiple_of(RECHECK_EVERY)
                        && !self.auth.worker_still_valid(&self.token).await
                    {
                        // What this worker learned must stop working too.
                        registry.rotate_token();
                        return;
                    }
                    registry.beat(&self.session.id, stats);
                    let ack = ServerMessage {
                        message: Some(server_message::Message::Ack(HeartbeatAck {})),
                    };
                    if self.out.send(ack).is_err() {
                        return;
                    }
                }
                Some(worker_message::Message::Log(log)) => {
                    registry.update(&self.session.id, Update::Log(log));
                }
                Some(worker_message::Message::Done(done)) => {
                    registry.update(&self.session.id, Update::Done(done));
                }
                _ => {}
            }
        }
    }
}

/// Aborts the session's reader when the response stream goes (the connection closed).
struct Reader(tokio::task::JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the response stream holds.
struct Sending {
    out: UnboundedReceiver<ServerMessage>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// The exchange token as this session last sent it.
    tokens: tokio::sync::watch::Receiver<String>,
    _reader: Reader,
}

impl Sending {
    /// The next message for the worker, `None` once the session is over.
    async fn next(&mut self) -> Option<ServerMessage> {
        tokio::select! {
            message = self.out.recv() => message,
            _ = self.closing.wait_for(|closed| *closed) => None,
            Ok(()) = self.tokens.changed() => {
                let token = self.tokens.borrow_and_update().clone();
                Some(ServerMessage {
                    message: Some(server_message::Message::Token(ExchangeToken {
                        exchange_token: token,
                    })),
                })
            }
        }
    }
}

pub(crate) type AttachStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<ServerMessage, tonic::Status>> + Send>>;

/// The session's response stream: `welcome`, then what is queued for the worker, until the
/// reader ends (the session is lost: its queue closes) or the server shuts down.
/// `tokens` is the subscription the welcome's token was read from: only later ones are sent.
pub(crate) fn stream(
    welcome: ServerMessage,
    reading: Reading,
    out: UnboundedReceiver<ServerMessage>,
    tokens: tokio::sync::watch::Receiver<String>,
    registry: &Registry,
) -> AttachStream {
    use futures::StreamExt as _;
    let sending = Sending {
        out,
        closing: registry.closing.subscribe(),
        tokens,
        _reader: Reader(tokio::spawn(reading.read())),
    };
    let rest = futures::stream::unfold(sending, |mut s| async move {
        let message = s.next().await?;
        Some((Ok(message), s))
    });
    Box::pin(futures::stream::once(std::future::ready(Ok(welcome))).chain(rest))
}
