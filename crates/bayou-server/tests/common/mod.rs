//! A real server, in process, on a fresh lake with an API key, for the server's tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset"
)]

use bayou_lake::{Lake, LakeLocation, LakeSettings};

/// A server on a fresh lake and a key for it; the server stops when the guard drops.
pub struct Served {
    pub url: String,
    pub token: String,
    /// A worker key (`--worker w`).
    pub worker_token: String,
    /// The served lake (its catalog holds the keys).
    pub lake: Lake,
    pub dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
    _serving: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops the server and waits until it has.
    pub async fn stop(self) {
        let _ = self._stop.send(());
        let _ = self._serving.await;
    }
}

pub async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(dir.path().join("lake").to_str().unwrap()).unwrap();
    let settings = LakeSettings {
        author: "admin".into(),
        catalog: None,
        catalogs_dir: dir.path().join("catalogs"),
    };
    let lake = Lake::open(&location, &settings).await.unwrap();
    let token = lake
        .catalog()
        .create_api_key("tester", bayou_catalog::KeyKind::User)
        .await
        .unwrap()
        .token;
    let worker_token = lake
        .catalog()
        .create_api_key("w", bayou_catalog::KeyKind::Worker)
        .await
        .unwrap()
        .token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let runs = bayou_runtime::RunOptions::new("main", dir.path().join("cache"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let served_lake = lake.clone();
    let serving = tokio::spawn(async move {
        let options = bayou_server::Options {
            keep_logs: std::time::Duration::from_secs(3600),
            tls: None,
            worker_heartbeat: std::time::Duration::from_millis(300),
            local_worker: true,
            distribute_above: Some(0),
        };
        bayou_server::serve(lake, runs, options, listener, shutdown)
            .await
            .unwrap();
    });
    Served {
        url,
        token,
        worker_token,
        lake: served_lake,
        dir,
        _stop: stop,
        _serving: serving,
    }
}
