//! [`FaultProxy`]: an HTTP proxy on 127.0.0.1 in front of a real server (an S3 endpoint) that
//! answers some requests with `500 Internal Server Error` instead of forwarding them, so tests
//! can make storage fail partway through a write.
//!
//! One request per connection (`Connection: close` both ways) keeps it small: the client opens
//! a fresh connection for each request, which every HTTP client does after a close.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Which requests fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Faults {
    /// Every request is forwarded.
    None,
    /// The next `n` writes (PUT, POST, DELETE) are forwarded, then every write fails.
    WritesAfter(u64),
    /// Every other request (reads too) fails, starting with the first.
    EveryOther,
}

#[derive(Debug)]
struct State {
    upstream: u16,
    /// `Faults` as numbers: 0 none, 1 writes after `budget`, 2 every other.
    mode: AtomicU64,
    budget: AtomicU64,
    seen: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

/// A proxy that injects 500s (see the module doc); stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream` that forwards everything until told otherwise.
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("its address").port();
        let state = Arc::new(State {
            upstream,
            mode: AtomicU64::new(0),
            budget: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(&state, conn);
                });
            }
        });
        Self { port, state }
    }

    /// Sets which requests fail from now on.
    pub fn set(&self, faults: Faults) {
        let (mode, budget) = match faults {
            Faults::None => (0, 0),
            Faults::WritesAfter(n) => (1, n),
            Faults::EveryOther => (2, 0),
        };
        self.state.budget.store(budget, Ordering::SeqCst);
        self.state.seen.store(0, Ordering::SeqCst);
        self.state.mode.store(mode, Ordering::SeqCst);
    }

    /// How many requests were answered with a 500 so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Whether the request `method` fails under the state's faults (counting it).
fn fails(state: &State, method: &str) -> bool {
    let n = state.seen.fetch_add(1, Ordering::SeqCst);
    match state.mode.load(Ordering::SeqCst) {
        1 if matches!(method, "PUT" | "POST" | "DELETE") => state
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_err(),
        2 => n.is_multiple_of(2),
        _ => false,
    }
}

fn serve(state: &State, client: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        // Ours replaces the client's: one request per connection.
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let method = head
        .first()
        .and_then(|l| l.split(' ').next())
        .unwrap_or("")
        .to_string();
    let mut client = client;
    if fails(state, &method) {
        state.failed.fetch_add(1, Ordering::SeqCst);
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>injected by the test's fault proxy</Message></Error>";
        write!(
            client,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        return client.shutdown(Shutdown::Both);
    }
    let mut upstream = TcpStream::connect(("127.0.0.1", state.upstream))?;
    for line in &head {
        upstream.write_all(line.as_bytes())?;
    }
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    upstream.write_all(&body)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    // The client must not reuse this connection: say so if the server did not.
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let said = String::from_utf8_lossy(&answer[..end])
        .to_ascii_lowercase()
        .contains("\r\nconnection: close");
    if let (false, Some(status_end)) = (said, answer.windows(2).position(|w| w == b"\r\n")) {
        answer.splice(status_end + 2..status_end + 2, *b"Connection: close\r\n");
    }
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
}
