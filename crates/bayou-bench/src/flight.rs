//! Moving an intermediate table between two hosts: a worker's Flight `DoGet` into the puller's
//! exchange file, against the floor of the same Arrow IPC bytes over a plain TCP connection.
//! `bench/flight.sh` runs the two sides in separate network namespaces.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

/// The token both sides of the benchmark use (a server hands real ones out per session).
const TOKEN: &str = "bench-exchange-token";
const RUN: &str = "20261204000000-bench0";
const NODE: &str = "trips";

/// Writes the lake's `taxi_fhvhv` as an exchange file at `out` (what a SQL model read by a
/// Python child leaves in shared memory).
pub(crate) fn exchange_file(lake: &str, out: &Path) -> anyhow::Result<()> {
    let rt = crate::runtime::runtime()?;
    let (_, rows, _) = crate::runtime::taxi_to_ipc(&rt, lake, out)?;
    let bytes = std::fs::metadata(out)?.len();
    println!("wrote {rows} rows, {bytes} bytes to {}", out.display());
    Ok(())
}

/// Serves `file` as a worker's held output over Flight on `listen`, and its bytes over plain
/// TCP on the next port, until killed.
pub(crate) fn serve(file: &Path, listen: &str) -> anyhow::Result<()> {
    let flight_addr: std::net::SocketAddr = listen.parse().context("LISTEN is HOST:PORT")?;
    let mut raw_addr = flight_addr;
    raw_addr.set_port(flight_addr.port() + 1);
    let raw = std::net::TcpListener::bind(raw_addr)?;
    let path = file.to_path_buf();
    std::thread::spawn(move || {
        for conn in raw.incoming().flatten() {
            let _ = conn.set_nodelay(true);
            if let Ok(mut f) = std::fs::File::open(&path) {
                let mut conn = conn;
                let _ = std::io::copy(&mut f, &mut conn);
            }
        }
    });
    let rt = crate::runtime::runtime()?;
    rt.block_on(async {
        let holdings = bayou_worker::Holdings::default();
        holdings.set_token(Some(TOKEN.to_string()));
        holdings.hold(RUN, NODE, file);
        let listener = tokio::net::TcpListener::bind(flight_addr).await?;
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        println!("ready: flight on {flight_addr}, raw on {raw_addr}");
        std::io::stdout().flush()?;
        bayou_worker::flight_server()
            .add_service(bayou_worker::OutputService::new(holdings).into_server())
            .serve_with_incoming(incoming)
            .await?;
        anyhow::Ok(())
    })
}

/// Pulls the served output `runs` times each way into `dest` and prints the figures.
pub(crate) fn pull(server: &str, dest: &Path, runs: usize) -> anyhow::Result<()> {
    let flight_addr: std::net::SocketAddr = server.parse().context("SERVER is HOST:PORT")?;
    let mut raw_addr = flight_addr;
    raw_addr.set_port(flight_addr.port() + 1);
    let url = format!("http://{flight_addr}");
    let rt = crate::runtime::runtime()?;
    let (mut flight, mut raw) = (Vec::new(), Vec::new());
    let (mut rows, mut flight_bytes, mut raw_bytes) = (0, 0, 0);
    for i in 0..runs.max(1) * 2 {
        let _ = std::fs::remove_file(dest);
        // Alternate, so neither side always runs on a warmer machine.
        if (i % 2 == 0) == (i / 2 % 2 == 0) {
            let clock = Instant::now();
            let pulled = rt.block_on(bayou_worker::pull(&url, TOKEN, RUN, NODE, dest))?;
            flight.push(clock.elapsed().as_secs_f64());
            (rows, flight_bytes) = (pulled.rows, pulled.bytes);
        } else {
            let clock = Instant::now();
            let mut conn = std::net::TcpStream::connect(raw_addr)?;
            conn.set_nodelay(true)?;
            let mut out = std::fs::File::create(dest)?;
            // 1 MiB reads: std::io::copy's 8 KiB buffer would make the floor a syscall count.
            let mut buf = vec![0u8; 1 << 20];
            raw_bytes = 0;
            loop {
                let n = std::io::Read::read(&mut conn, &mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                raw_bytes += n as u64;
            }
            drop(out);
            raw.push(clock.elapsed().as_secs_f64());
        }
    }
    let _ = std::fs::remove_file(dest);
    flight.sort_by(f64::total_cmp);
    raw.sort_by(f64::total_cmp);
    let gbps = |bytes: u64, s: f64| bytes as f64 / s / 1e9;
    let (f, r) = (flight[0], raw[0]);
    println!(
        "moving {rows} rows between hosts ({:.2} GB of Arrow IPC), best of {} each:",
        raw_bytes as f64 / 1e9,
        flight.len()
    );
    println!(
        "  bayou Flight DoGet -> exchange file  {f:.3} s  ({:.2} GB/s, median {:.3} s)",
        gbps(flight_bytes, f),
        flight[flight.len() / 2]
    );
    println!(
        "  raw Arrow IPC over TCP (floor)       {r:.3} s  ({:.2} GB/s, median {:.3} s)",
        gbps(raw_bytes, r),
        raw[raw.len() / 2]
    );
    println!(
        "  Flight throughput / floor            {:.0}%  (goal >= 90%)",
        100.0 * gbps(flight_bytes, f) / gbps(raw_bytes, r)
    );
    println!("  paper (bauplan, Flight, 10M rows)    0.96 s");
    Ok(())
}
