//! [`Zygotes`]: warm starts. One long-lived Python process per environment has imported the
//! runner and pyarrow; each call is a child cloned from it into fresh namespaces, its cgroups
//! and its own sandbox (`python/runner/bayou_zygote.py`, `bayou_sandbox.py`), so a function
//! starts in milliseconds yet from the same clean state as a new process.
//!
//! Entry point: [`Zygotes::start`]. A zygote listens on `<cache>/zygotes/<key>.sock` (mode 0600,
//! and it checks its peer's uid), outlives the command that started it so the next run finds it
//! warm, and exits after an idle time or once its environment is removed. At most
//! [`Zygotes::MAX`] live at once, within [`Zygotes::MAX_MEMORY`] bytes resident; the least
//! recently used makes room. Trade-off: an idle zygote holds ~100 MB until it times out, for
//! ~50 ms saved on every call.

use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead};

use crate::protocol::{ZygoteCall, ZygoteReply};

/// The zygotes of one cache directory.
#[derive(Debug, Clone)]
pub(crate) struct Zygotes {
    dir: PathBuf,
    script: PathBuf,
    sdk: PathBuf,
}

/// A call running in a child of a zygote.
pub(crate) struct WarmChild {
    replies: tokio::io::Lines<tokio::io::BufReader<tokio::net::UnixStream>>,
    pid: i32,
    pub(crate) stdout: Option<Box<dyn AsyncRead + Unpin + Send>>,
    pub(crate) stderr: Option<Box<dyn AsyncRead + Unpin + Send>>,
}

impl Zygotes {
    /// Live zygotes at most; starting another stops the least recently used.
    pub(crate) const MAX: usize = 4;
    /// Their resident memory at most, together.
    pub(crate) const MAX_MEMORY: u64 = 1 << 30;
    /// Seconds without a call after which a zygote exits.
    const IDLE_SECONDS: u64 = 600;

    pub(crate) fn new(cache: &Path, runner: &crate::assets::Runner) -> Self {
        Self {
            dir: cache.join("zygotes"),
            script: runner.zygote.clone(),
            sdk: runner.sdk.clone(),
        }
    }

    /// Starts `call` in a child of `python`'s zygote, starting the zygote first if none is
    /// running. An error says why there is no warm start; the caller then starts cold.
    pub(crate) async fn start(
        &self,
        python: &Path,
        call: &ZygoteCall,
    ) -> Result<WarmChild, String> {
        let zygotes = self.clone();
        let (python, call) = (python.to_path_buf(), call.clone());
        tokio::task::spawn_blocking(move || zygotes.connect_and_send(&python, &call))
            .await
            .map_err(|e| e.to_string())?
            .and_then(WarmChild::new)
    }

    fn connect_and_send(
        &self,
        python: &Path,
        call: &ZygoteCall,
    ) -> Result<(UnixStream, [OwnedFd; 2]), String> {
        let socket = self.socket(python)?;
        let stream = match UnixStream::connect(&socket) {
            Ok(s) => s,
            Err(_) => self.spawn(python, &socket)?,
        };
        let _ = touch(&socket.with_extension("pid"));
        let (out_r, out_w) = std::io::pipe().map_err(|e| e.to_string())?;
        let (err_r, err_w) = std::io::pipe().map_err(|e| e.to_string())?;
        let mut line = serde_json::to_vec(call).map_err(|e| e.to_string())?;
        line.push(b'\n');
        send_with_fds(&stream, &line, &[out_w.as_fd(), err_w.as_fd()])
            .map_err(|e| format!("cannot reach the zygote: {e}"))?;
        Ok((stream, [out_r.into(), err_r.into()]))
    }

    /// `<cache>/zygotes/<key>.sock`: one per interpreter and runner version.
    fn socket(&self, python: &Path) -> Result<PathBuf, String> {
        let mut h = Sha256::new();
        h.update(python.as_os_str().as_encoded_bytes());
        h.update(crate::assets::runner_version().as_bytes());
        let key = &hex::encode(h.finalize())[..16];
        let path = self.dir.join(format!("{key}.sock"));
        // A Unix socket's name holds at most 107 bytes.
        match path.as_os_str().len() < 100 {
            true => Ok(path),
            false => Err(format!(
                "the cache directory's path is too long for a socket ({})",
                path.display()
            )),
        }
    }

    /// Starts the zygote of `python` unless another process did meanwhile; connects to it.
    fn spawn(&self, python: &Path, socket: &Path) -> Result<UnixStream, String> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let lock =
            std::fs::File::create(socket.with_extension("lock")).map_err(|e| e.to_string())?;
        lock.lock().map_err(|e| e.to_string())?;
        if let Ok(stream) = UnixStream::connect(socket) {
            return Ok(stream);
        }
        self.make_room();
        let _ = std::fs::remove_file(socket);
        let log = std::fs::File::create(socket.with_extension("log")).map_err(|e| e.to_string())?;
        // `sh` starts it in the background and exits: the zygote outlives this command.
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("\"$@\" & echo $!")
            .arg("sh")
            .arg(python)
            .arg("-u")
            .arg(&self.script)
            .arg(socket)
            .arg(Self::IDLE_SECONDS.to_string())
            .env_clear()
            .envs(crate::sandbox::ENV)
            .env("PYTHONPATH", &self.sdk)
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let pid = lines.next().and_then(Result::ok).unwrap_or_default();
        let ready = lines.next().and_then(Result::ok);
        let _ = child.wait();
        if ready.as_deref() != Some("ready") {
            let said = std::fs::read(socket.with_extension("log")).unwrap_or_default();
            return Err(format!(
                "the zygote did not start: {}",
                crate::env::last_lines(&said)
            ));
        }
        std::fs::write(socket.with_extension("pid"), pid.trim()).map_err(|e| e.to_string())?;
        UnixStream::connect(socket).map_err(|e| format!("cannot reach the zygote: {e}"))
    }

    /// Stops the least recently used zygotes until one more fits in [`Self::MAX`] and
    /// [`Self::MAX_MEMORY`].
    fn make_room(&self) {
        let mut live = self.live();
        live.sort_by_key(|z| std::cmp::Reverse(z.used));
        let mut memory: u64 = live.iter().map(|z| z.resident).sum();
        let typical = live.iter().map(|z| z.resident).max().unwrap_or(0);
        while live.len() >= Self::MAX || (!live.is_empty() && memory + typical > Self::MAX_MEMORY) {
            let Some(oldest) = live.pop() else { break };
            memory -= oldest.resident;
            oldest.stop();
        }
    }

    /// The zygotes running now.
    fn live(&self) -> Vec<Live> {
        live_in(&self.dir)
    }

    /// Stops every zygote whose environment is under `env_dir` (it is being removed).
    pub(crate) fn stop_env(cache: &Path, env_dir: &Path) {
        for z in live_in(&cache.join("zygotes")) {
            if z.python.starts_with(env_dir) {
                z.stop();
            }
        }
    }
}

/// The zygotes running now whose pid files are in `dir`.
fn live_in(dir: &Path) -> Vec<Live> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .filter_map(|e| Live::read(&e.path()))
        .collect()
}

/// A running zygote, as its pid file and `/proc` tell.
struct Live {
    pid: i32,
    pid_file: PathBuf,
    python: PathBuf,
    used: std::time::SystemTime,
    resident: u64,
}

impl Live {
    fn read(pid_file: &Path) -> Option<Self> {
        let pid: i32 = std::fs::read_to_string(pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        // A pid reused by another process is not ours to stop.
        if !args.iter().any(|a| a.ends_with(b"bayou_zygote.py")) {
            let _ = std::fs::remove_file(pid_file);
            return None;
        }
        let python = PathBuf::from(std::ffi::OsStr::from_bytes(args.first()?));
        let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(Self {
            pid,
            pid_file: pid_file.to_path_buf(),
            python,
            used: std::fs::metadata(pid_file)
                .and_then(|m| m.modified())
                .ok()?,
            resident: pages * 4096,
        })
    }

    /// Asks it to stop: it takes no new calls and exits once its calls are done.
    fn stop(&self) {
        signal(self.pid, libc::SIGTERM);
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

fn touch(path: &Path) -> std::io::Result<()> {
    std::fs::File::options()
        .append(true)
        .open(path)?
        .set_modified(std::time::SystemTime::now())
}

/// Sends `bytes` with these descriptors attached (`SCM_RIGHTS`).
fn send_with_fds(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[std::os::fd::BorrowedFd<'_>],
) -> std::io::Result<()> {
    use std::os::fd::{AsRawFd, RawFd};
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let sent = sendmsg_rights(stream.as_raw_fd(), bytes, &raw)?;
    // The descriptors went with the first bytes; the rest of a long request follows plainly.
    std::io::Write::write_all(&mut &*stream, &bytes[sent..])
}

#[expect(
    unsafe_code,
    reason = "sendmsg with SCM_RIGHTS has no safe wrapper in std or in rustix's enabled features; the buffers outlive the call and are sized by CMSG_SPACE"
)]
fn sendmsg_rights(socket: i32, bytes: &[u8], fds: &[i32]) -> std::io::Result<usize> {
    let payload = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: a zeroed msghdr is valid; every pointer set below points into live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds one header of CMSG_SPACE(payload) bytes.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast::<i32>(), fds.len());
    }
    // SAFETY: msg and the buffers it points to are valid for the call.
    let sent = unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) };
    match sent {
        n if n < 0 => Err(std::io::Error::last_os_error()),
        n => Ok(n as usize),
    }
}

/// Sends `signal` to `pid` (a zygote, or a call it started; both are this user's).
#[expect(
    unsafe_code,
    reason = "kill(2) has no safe wrapper in std or in rustix's enabled features"
)]
fn signal(pid: i32, signal: i32) {
    if pid > 0 {
        // SAFETY: kill takes plain integers; a pid that no longer exists is an error we ignore.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

impl WarmChild {
    fn new((stream, [out, err]): (UnixStream, [OwnedFd; 2])) -> Result<Self, String> {
        let io = |e: std::io::Error| e.to_string();
        stream.set_nonblocking(true).map_err(io)?;
        let stream = tokio::net::UnixStream::from_std(stream).map_err(io)?;
        let stdout = tokio::net::unix::pipe::Receiver::from_owned_fd(out).map_err(io)?;
        let stderr = tokio::net::unix::pipe::Receiver::from_owned_fd(err).map_err(io)?;
        Ok(Self {
            replies: tokio::io::BufReader::new(stream).lines(),
            pid: 0,
            stdout: Some(Box::new(stdout)),
            stderr: Some(Box::new(stderr)),
        })
    }

    async fn reply(&mut self) -> std::io::Result<ZygoteReply> {
        let line = self.replies.next_line().await?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the zygote hung up before the call ended",
            )
        })?;
        serde_json::from_str(&line).map_err(std::io::Error::other)
    }

    /// Waits until the zygote says the call started; an error when it could not start it.
    pub(crate) async fn started(&mut self) -> Result<(), String> {
        let reply = self.reply().await.map_err(|e| e.to_string())?;
        match (reply.pid, reply.error) {
            (Some(pid), _) => {
                self.pid = pid;
                Ok(())
            }
            (None, error) => Err(error.unwrap_or_else(|| "no pid in the zygote's reply".into())),
        }
    }

    /// The call's exit status, as `waitpid` gave it to the zygote.
    pub(crate) async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let reply = self.reply().await?;
        let status = reply.status.ok_or_else(|| {
            std::io::Error::other(reply.error.unwrap_or_else(|| "no status".into()))
        })?;
        Ok(ExitStatus::from_raw(status))
    }

    /// Kills the call (a timeout, a cancelled run).
    pub(crate) fn start_kill(&mut self) {
        signal(self.pid, libc::SIGKILL);
    }
}
