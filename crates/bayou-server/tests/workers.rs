//! Workers attach to a real server with worker keys, report heartbeats, fetch each other's
//! outputs over Flight with the exchange token, and are lost when they go.

mod common;

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use bayou_proto::v1::lake_client::LakeClient;
use bayou_proto::v1::workers_client::WorkersClient;
use bayou_proto::v1::{
    ListWorkersRequest, WorkerHello, WorkerMessage, server_message, worker_message,
};
use bayou_worker::session::Change;

fn options(served: &common::Served, key: &str, flight_url: &str) -> bayou_worker::Options {
    let cache_dir = served.dir.path().join("worker-cache");
    let mut runs = bayou_runtime::RunOptions::new("", cache_dir.clone());
    runs.sandbox = bayou_runtime::SandboxPolicy::Off;
    bayou_worker::Options {
        server: served.url.clone(),
        key: key.to_string(),
        ca_pem: None,
        cores: 2,
        memory_bytes: 1 << 30,
        cache_dir,
        flight_url: flight_url.to_string(),
        max_backoff: Duration::from_millis(200),
        host: Arc::new(bayou_runtime::TaskHost::new(runs).unwrap()),
    }
}

/// A worker in this process: its Flight URL, what it holds, its session changes, and a guard
/// that stops it when dropped.
struct Running {
    flight_url: String,
    holdings: bayou_worker::Holdings,
    changes: tokio::sync::mpsc::UnboundedReceiver<Change>,
    task: tokio::task::JoinHandle<bayou_worker::Result<()>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(served: &common::Served, key: &str) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let flight_url = format!("http://{}", listener.local_addr().unwrap());
    let holdings = bayou_worker::Holdings::default();
    let (tell, changes) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = options(served, key, &flight_url);
    let held = holdings.clone();
    let task = tokio::spawn(async move {
        let on_session = move |c: Change| {
            let _ = tell.send(c);
        };
        let shutdown = async move {
            let _ = stopped.await;
        };
        bayou_worker::serve(options, listener, held, shutdown, &on_session).await
    });
    Running {
        flight_url,
        holdings,
        changes,
        task,
        _stop: stop,
    }
}

async fn attached(worker: &mut Running) -> String {
    match worker.changes.recv().await {
        Some(Change::Attached { worker_id }) => worker_id,
        other => panic!("expected a welcome, got {other:?}"),
    }
}

async fn list(served: &common::Served) -> Vec<bayou_proto::v1::WorkerInfo> {
    let channel = tonic::transport::Channel::from_shared(served.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(ListWorkersRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", served.token).parse().unwrap(),
    );
    WorkersClient::new(channel)
        .list_workers(request)
        .await
        .unwrap()
        .into_inner()
        .workers
}

/// Waits until the listing shows what `ready` looks for (heartbeats arrive on their own
/// clock), failing after ten seconds.
async fn until(
    served: &common::Served,
    ready: impl Fn(&[bayou_proto::v1::WorkerInfo]) -> bool,
) -> Vec<bayou_proto::v1::WorkerInfo> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let workers = list(served).await;
        if ready(&workers) {
            return workers;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listing never got there: {workers:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn table(dir: &std::path::Path) -> (std::path::PathBuf, RecordBatch) {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..200_000));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..200_000).map(|i| format!("zone-{}", i % 263)),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("zone", names)]).unwrap();
    let file = dir.join("trips.arrow");
    let mut w = bayou_runtime::IpcWriter::create(&file, &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    (file, batch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_attach_beat_share_outputs_and_are_lost_when_they_go() {
    let served = common::serve().await;
    let mut a = start(&served, &served.worker_token).await;
    let mut b = start(&served, &served.worker_token).await;
    let (id_a, id_b) = (attached(&mut a).await, attached(&mut b).await);
    assert_ne!(id_a, id_b, "each session has its own id");
    let workers = until(&served, |ws| {
        [&id_a, &id_b].iter().all(|id| {
            ws.iter()
                .any(|w| &&w.id == id && w.state == "up" && w.stats.is_some())
        })
    })
    .await;
    let a_info = workers.iter().find(|w| w.id == id_a).unwrap();
    assert_eq!((a_info.name.as_str(), a_info.cores), ("w", 2));
    assert_eq!(a_info.flight_url, a.flight_url);
    assert!(a_info.stats.as_ref().unwrap().memory_used_bytes > 0);

    // B fetches what A holds, with the token the server gave them both.
    let (file, batch) = table(served.dir.path());
    a.holdings.hold("run1", "trips", &file);
    let dest = served.dir.path().join("pulled.arrow");
    // The token is never shown to users: take it the way a worker does, from a session.
    let token = match attach_raw(&served, &bayou_worker::version()).await.unwrap() {
        Some(server_message::Message::Welcome(w)) => w.exchange_token,
        other => panic!("no welcome: {other:?}"),
    };
    let pulled = bayou_worker::pull(&a.flight_url, &token, "run1", "trips", &dest)
        .await
        .unwrap();
    assert_eq!(pulled.rows, 200_000);
    let (_, got) = bayou_runtime::map_ipc(&dest).unwrap();
    let got = arrow::compute::concat_batches(&batch.schema(), &got).unwrap();
    assert_eq!(got, batch, "every row crossed unchanged");
    // A dictionary-encoded column takes the decoding way, with the same result.
    let zones: arrow::array::DictionaryArray<arrow::datatypes::Int32Type> =
        (0..50_000).map(|i| ["JFK", "LGA", "EWR"][i % 3]).collect();
    let dict_batch = RecordBatch::try_from_iter([("zone", Arc::new(zones) as ArrayRef)]).unwrap();
    let dict_file = served.dir.path().join("zones.arrow");
    let mut w = bayou_runtime::IpcWriter::create(&dict_file, &dict_batch.schema()).unwrap();
    w.write(&dict_batch).unwrap();
    w.finish().unwrap();
    a.holdings.hold("run1", "zones", &dict_file);
    let dict_dest = served.dir.path().join("zones-pulled.arrow");
    let pulled = bayou_worker::pull(&a.flight_url, &token, "run1", "zones", &dict_dest)
        .await
        .unwrap();
    assert_eq!(pulled.rows, 50_000);
    let (_, got) = bayou_runtime::map_ipc(&dict_dest).unwrap();
    let got = arrow::compute::concat_batches(&dict_batch.schema(), &got).unwrap();
    assert_eq!(got, dict_batch);

    let shm = until(&served, |ws| {
        ws.iter()
            .any(|w| w.id == id_a && w.stats.as_ref().is_some_and(|s| s.shared_memory_bytes > 0))
    })
    .await;
    assert!(!shm.is_empty());

    // A wrong token, an output A does not hold, and a pull that fails leave nothing behind.
    let wrong = bayou_worker::pull(
        &a.flight_url,
        "nope",
        "run1",
        "trips",
        &dest.with_extension("x"),
    )
    .await
    .unwrap_err();
    assert!(wrong.to_string().contains("exchange token"), "{wrong}");
    assert!(!dest.with_extension("x").exists());
    let missing = bayou_worker::pull(
        &a.flight_url,
        &token,
        "run1",
        "stops",
        &dest.with_extension("y"),
    )
    .await
    .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("no output of 'stops' in run run1 is held here"),
        "{missing}"
    );

    // A goes: the server lists it lost at once (its stream closed), B stays up.
    drop(a);
    let workers = until(&served, |ws| {
        ws.iter().any(|w| w.id == id_a && w.state == "lost")
    })
    .await;
    assert!(workers.iter().any(|w| w.id == id_b && w.state == "up"));
    // The server stops even with B attached: its session ends, and B hears of it.
    tokio::time::timeout(Duration::from_secs(10), served.stop())
        .await
        .expect("the server stops with a worker attached");
    match b.changes.recv().await {
        Some(Change::Lost { .. }) => {}
        other => panic!("B should have lost its session: {other:?}"),
    }
    b.task.abort();
}

/// A session opened by hand, saying hello as `version`: the server's first answer.
async fn attach_raw(
    served: &common::Served,
    version: &str,
) -> Result<Option<server_message::Message>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(served.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let hello = WorkerMessage {
        message: Some(worker_message::Message::Hello(WorkerHello {
            version: version.to_string(),
            ..Default::default()
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(hello).await.unwrap();
    let outbound =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut request = tonic::Request::new(outbound);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", served.worker_token).parse().unwrap(),
    );
    let mut inbound = WorkersClient::new(channel)
        .attach(request)
        .await?
        .into_inner();
    Ok(inbound.message().await?.and_then(|m| m.message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_worker_key_ends_its_session_and_cannot_attach_again() {
    let served = common::serve().await;
    let made = served
        .lake
        .catalog()
        .create_api_key("w2", bayou_catalog::KeyKind::Worker)
        .await
        .unwrap();
    let mut w = start(&served, &made.token).await;
    let id = attached(&mut w).await;
    served
        .lake
        .catalog()
        .revoke_api_key(&made.key.id)
        .await
        .unwrap();
    // Within a few heartbeats the server checks the key again and ends the session; the
    // worker's next attach is refused for good.
    match w.changes.recv().await {
        Some(Change::Lost { .. }) => {}
        other => panic!("the session should have ended: {other:?}"),
    }
    let ended = w.task.await.unwrap().unwrap_err();
    assert!(matches!(ended, bayou_worker::Error::Refused(_)), "{ended}");
    until(&served, |ws| {
        ws.iter().any(|x| x.id == id && x.state == "lost")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_kept_to_their_kind() {
    let served = common::serve().await;
    // A user's key cannot attach a worker: refused for good, not retried.
    let refused = start(&served, &served.token).await.task.await.unwrap();
    let err = refused.unwrap_err();
    assert!(matches!(err, bayou_worker::Error::Refused(_)), "{err}");
    assert!(err.to_string().contains("only a worker's key"), "{err}");
    // A worker's key cannot call the lake.
    let channel = tonic::transport::Channel::from_shared(served.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(bayou_proto::v1::ListRefsRequest::default());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", served.worker_token).parse().unwrap(),
    );
    let status = LakeClient::new(channel)
        .list_refs(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("worker's key"),
        "{}",
        status.message()
    );
    // A worker of another release is refused, saying what to do.
    let status = attach_raw(&served, "0.0.0+old").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("same bayou release"),
        "{}",
        status.message()
    );
    assert!(list(&served).await.is_empty(), "nothing refused was listed");
}

/// The workers of a test cluster, as a distributed query finds them.
#[derive(Debug)]
struct Cluster {
    urls: Vec<url::Url>,
    token: String,
}

impl bayou_sql::Workers for Cluster {
    fn urls(&self) -> Vec<url::Url> {
        self.urls.clone()
    }
    fn token(&self) -> String {
        self.token.clone()
    }
}

fn engine(served: &common::Served, urls: &[&str], token: &str) -> bayou_sql::QueryEngine {
    let cluster = Cluster {
        urls: urls.iter().map(|u| url::Url::parse(u).unwrap()).collect(),
        token: token.to_string(),
    };
    let distribution = bayou_sql::Distribution {
        workers: Arc::new(cluster),
        min_bytes: 0,
    };
    let cache = bayou_sql::QueryCache::default().with_distribution(distribution);
    bayou_sql::QueryEngine::with_cache(served.lake.clone(), cache)
}

/// A table of four data files (one per append), so a scan has tasks for both workers.
async fn trips_in_four_files(served: &common::Served) {
    let key = bayou_types::TableKey::new("bayou", "trips").unwrap();
    for part in 0..4i64 {
        let ids: Vec<i64> = (part * 50_000..(part + 1) * 50_000).collect();
        let zone: ArrayRef = Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| i % 263)));
        let fare: ArrayRef = Arc::new(arrow::array::Float64Array::from_iter_values(
            ids.iter().map(|i| (i % 97) as f64 * 0.5),
        ));
        let id: ArrayRef = Arc::new(Int64Array::from(ids));
        let batch =
            RecordBatch::try_from_iter([("id", id), ("zone", zone), ("fare", fare)]).unwrap();
        let mode = match part {
            0 => bayou_lake::WriteMode::Create,
            _ => bayou_lake::WriteMode::Append,
        };
        let mut write = served
            .lake
            .begin_write("main", &key, mode, &batch.schema(), "test", None)
            .await
            .unwrap();
        write.write(&batch).await.unwrap();
        write.commit("a part").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_large_scans_run_across_workers_with_single_node_answers() {
    let served = common::serve().await;
    let mut a = start(&served, &served.worker_token).await;
    let mut b = start(&served, &served.worker_token).await;
    attached(&mut a).await;
    attached(&mut b).await;
    trips_in_four_files(&served).await;
    let token = a.holdings.token().expect("a session's token");
    let urls = [a.flight_url.as_str(), b.flight_url.as_str()];
    let spread = engine(&served, &urls, &token);
    let here = bayou_sql::QueryEngine::new(served.lake.clone());
    for sql in [
        "SELECT zone, COUNT(*) AS n, SUM(fare) AS fares FROM trips GROUP BY zone ORDER BY zone",
        "SELECT COUNT(*) AS n, MAX(fare) AS top FROM trips WHERE id % 7 = 0",
        "SELECT a.zone, COUNT(*) AS n, SUM(b.fare) AS fares FROM trips a JOIN trips b ON a.id = b.id + 1 GROUP BY a.zone ORDER BY n DESC, a.zone LIMIT 5",
    ] {
        let ran = spread.query("main", sql).await.unwrap();
        assert!(ran.distributed, "went across the workers: {sql}");
        let got = ran.collect().await.unwrap();
        let want = here
            .query("main", sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let pretty = |b: &[RecordBatch]| {
            arrow::util::pretty::pretty_format_batches(b)
                .unwrap()
                .to_string()
        };
        assert_eq!(pretty(&got), pretty(&want), "{sql}");
    }
    // Workers run tasks only for their cluster.
    let stranger = engine(&served, &urls, "not-the-token");
    let refused = match stranger.query("main", "SELECT COUNT(*) FROM trips").await {
        Ok(ran) => ran.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    let refused = refused.expect_err("a wrong token runs nothing");
    assert!(refused.to_string().contains("exchange token"), "{refused}");
}
