//! [`Runs`]: the runs going on in the server, each a task of the server's own task set.
//!
//! A run's task sends its updates into a channel the calling stream reads. An attached caller
//! that goes away drops its stream, which cancels the run; a detached run goes on until it
//! ends, `CancelRun` stops it, or the server shuts down. A cancelled run's record is marked
//! interrupted by its task before it ends, so no run stays "running" behind a live server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bayou_runtime::Event;
use bayou_service::{Embedded, Error, RunOutcome, RunRequest, RunUpdate, Service};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One run's stop switch, the signal that its task has finished its record, and its events for
/// followers.
#[derive(Debug, Clone)]
struct Handle {
    cancel: CancellationToken,
    done: CancellationToken,
    feed: Arc<Feed>,
}

/// A run's events so far and their live stream: a follower gets both without a gap, because
/// events are recorded and sent under one lock, and a follower copies and subscribes under it.
#[derive(Debug)]
pub(crate) struct Feed {
    state: Mutex<(Vec<Event>, broadcast::Sender<Event>)>,
}

impl Feed {
    fn new() -> Self {
        Self {
            state: Mutex::new((Vec::new(), broadcast::channel(4096).0)),
        }
    }

    fn publish(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.push(event.clone());
        let _ = state.1.send(event.clone());
    }

    /// The events so far, and a receiver of the ones to come.
    pub(crate) fn follow(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (state.0.clone(), state.1.subscribe())
    }

    /// Ends every follower's live stream (the run is over).
    fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1 = broadcast::channel(1).0;
    }
}

#[derive(Debug)]
pub(crate) struct Runs {
    tracker: TaskTracker,
    active: Mutex<HashMap<String, Handle>>,
    /// Every run's stop switch is a child of this one: the server's shutdown stops them all,
    /// started or not.
    root: CancellationToken,
    /// How long finished runs keep their nodes' logs.
    keep_logs: std::time::Duration,
}

/// Cancels the run it belongs to when dropped (the attached caller went away), unless disarmed.
pub(crate) struct CancelOnDrop(Option<CancellationToken>);

impl CancelOnDrop {
    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = &self.0 {
            token.cancel();
        }
    }
}

/// Takes a run out of the registry and releases its waiters when its task ends.
struct Finished {
    runs: Arc<Runs>,
    id: Arc<Mutex<Option<String>>>,
    done: CancellationToken,
    feed: Arc<Feed>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(id) = self.id.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            self.runs.active().remove(id);
        }
        self.feed.close();
        self.done.cancel();
    }
}

pub(crate) type Updates = mpsc::UnboundedReceiver<Result<RunUpdate, Error>>;

impl Runs {
    pub(crate) fn new(keep_logs: std::time::Duration) -> Self {
        Self {
            tracker: TaskTracker::new(),
            active: Mutex::default(),
            root: CancellationToken::new(),
            keep_logs,
        }
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a run as `svc`'s user; returns its updates and the switch that stops it.
    pub(crate) fn start(
        self: &Arc<Self>,
        svc: Embedded,
        mut request: RunRequest,
    ) -> (Updates, CancelOnDrop) {
        request.detach = false; // the server keeps it going; the task itself always waits
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = Handle {
            cancel: self.root.child_token(),
            done: CancellationToken::new(),
            feed: Arc::new(Feed::new()),
        };
        let runs = Arc::clone(self);
        let task = handle.clone();
        self.tracker.spawn(async move {
            // However the task ends (even by a panic), the run leaves the registry and whoever
            // waits for it to stop is released.
            let finished = Finished {
                runs: Arc::clone(&runs),
                id: Arc::new(Mutex::new(None)),
                done: task.done.clone(),
                feed: Arc::clone(&task.feed),
            };
            let id = Arc::clone(&finished.id);
            let on_event = |event: Event| {
                if let Event::Started { run_id, .. } = &event {
                    let run_id = run_id.to_string();
                    runs.active().insert(run_id.clone(), task.clone());
                    *id.lock().unwrap_or_else(|p| p.into_inner()) = Some(run_id);
                }
                task.feed.publish(&event);
                let _ = tx.send(Ok(RunUpdate::Event {
                    event: Box::new(event),
                }));
            };
            let outcome = tokio::select! {
                outcome = svc.run(request, &on_event) => Some(outcome),
                _ = task.cancel.cancelled() => None,
            };
            let id = id.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let update = match outcome {
                Some(Ok(RunOutcome::Finished(record))) => Ok(RunUpdate::Finished { record }),
                Some(Ok(RunOutcome::Detached(run_id))) => Ok(RunUpdate::Detached { run_id }),
                Some(Err(e)) => Err(e),
                None => Err(stopped(&svc, id.as_deref()).await),
            };
            let _ = tx.send(update);
            drop(finished);
            // Logs older than the setting go as runs end (an indexed query; usually nothing).
            let _ = bayou_runtime::prune_logs(svc.lake(), runs.keep_logs).await;
        });
        (rx, CancelOnDrop(Some(handle.cancel)))
    }

    /// The feed of run `id` if it is going on here.
    pub(crate) fn feed(&self, id: &str) -> Option<Arc<Feed>> {
        self.active().get(id).map(|h| Arc::clone(&h.feed))
    }

    /// Stops run `id` if it is going on here and waits until its record says so; returns
    /// whether it was going on.
    pub(crate) async fn cancel(&self, id: &str) -> bool {
        let handle = self.active().get(id).cloned();
        match handle {
            Some(h) => {
                h.cancel.cancel();
                h.done.cancelled().await;
                true
            }
            None => false,
        }
    }

    /// Stops every run, started or not (the server is shutting down): their streams end, so
    /// the server's connections can close.
    pub(crate) fn stop_all(&self) {
        self.root.cancel();
    }

    /// Waits until every run's task has closed its record.
    pub(crate) async fn wait(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Closes the record of a run that was stopped and says what became of its target (a run
/// stopped while it published may have published all the same).
async fn stopped(svc: &Embedded, id: Option<&str>) -> Error {
    let Some(id) = id else {
        return Error::Usage("the run was stopped before it started".into());
    };
    if let Err(e) = svc.cancel_run(id).await {
        return e;
    }
    let outcome = match svc.get_run(id).await {
        Ok(Some(r)) if r.status == bayou_runtime::RunStatus::Succeeded => {
            format!("it had published to {} already", r.target_branch)
        }
        Ok(Some(r)) if !r.transaction => format!(
            "--no-transaction: what it wrote before it stopped stays in {}",
            r.target_branch
        ),
        Ok(Some(r)) => format!("{} is unchanged", r.target_branch),
        _ => "its record is gone".into(),
    };
    Error::Usage(format!("run {id} was stopped; {outcome}"))
}
