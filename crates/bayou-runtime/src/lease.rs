//! Run leases: a running run's record names the process running it (its holder) and is
//! refreshed every [`HEARTBEAT`] while it runs, so a run whose process died (`kill -9`, a lost
//! machine) does not stay "running" for good: whoever looks next settles it as crashed.
//!
//! On the holder's own machine a lease is judged by the process itself (its pid and start
//! time, so a reused pid is not taken for it): a killed run is seen as crashed at once.
//! Elsewhere (a server's run seen from another host) by its heartbeat: older than [`LEASE`] is
//! gone. Trade-off: a run held on another machine whose catalog writes stall for longer than
//! [`LEASE`] is taken for crashed; its own final save still records how it really ended.

use std::future::Future;
use std::time::Duration;

use bayou_lake::Lake;

/// How often a running run refreshes its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long a lease lasts without a refresh before a run held on another machine is crashed.
pub const LEASE: Duration = Duration::from_secs(30);

/// This process as a lease holder: `host/boot.pidns/pid/start`. The boot id tells a rebooted
/// machine apart, the pid namespace a container; `start` (when the process started, in clock
/// ticks since boot) a reused pid.
pub fn this_process() -> String {
    let pid = std::process::id();
    let (host, boot) = machine().unwrap_or_else(|| ("unknown".into(), "unknown".into()));
    let start = start_ticks(pid).map_or_else(|| "?".into(), |t| t.to_string());
    format!("{host}/{boot}/{pid}/{start}")
}

/// Whether `holder` is alive, when this machine can tell (it holds it); `None` elsewhere.
pub(crate) fn alive(holder: &str) -> Option<bool> {
    let mut parts = holder.split('/');
    let (host, boot, pid, start) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (this_host, this_boot) = machine()?;
    if host != this_host || boot != this_boot {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    Some(start_ticks(pid).is_some_and(|t| t.to_string() == start))
}

/// Whether a run held by `holder` (none: recorded before leases) that last said it was alive
/// at `seen_ms` is gone at `now_ms`.
pub(crate) fn gone(holder: Option<&str>, seen_ms: i64, now_ms: i64) -> bool {
    match holder.and_then(alive) {
        Some(alive) => !alive,
        None => now_ms.saturating_sub(seen_ms) > LEASE.as_millis() as i64,
    }
}

/// This machine's host name and boot id (Linux), if it can read them; read once per process.
fn machine() -> Option<(String, String)> {
    static MACHINE: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
    MACHINE.get_or_init(read_machine).clone()
}

fn read_machine() -> Option<(String, String)> {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && !s.contains('/'))
    };
    let host = read("/proc/sys/kernel/hostname")?;
    let boot = read("/proc/sys/kernel/random/boot_id")?;
    // Containers may share a host name and boot id yet not see each other's processes: the
    // pid namespace tells them apart.
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let namespace: String = namespace
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    Some((host, format!("{boot}.{namespace}")))
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`, field 22); `None`
/// when there is no such process.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Runs `work` while refreshing run `id`'s lease every [`HEARTBEAT`].
pub(crate) async fn held<F: Future>(lake: &Lake, id: &str, holder: &str, work: F) -> F::Output {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beat.tick().await;
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = beat.tick() => {
                // A refresh that fails is retried at the next beat; the run goes on.
                let now = chrono::Utc::now().timestamp_millis();
                let _ = lake.catalog().heartbeat_run(id, holder, now).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_not() {
        let me = this_process();
        assert_eq!(alive(&me), Some(true), "{me}");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_ticks(pid);
        child.wait().unwrap();
        let (host, boot) = machine().unwrap();
        let dead = format!("{host}/{boot}/{pid}/{}", start.unwrap_or(0));
        assert_eq!(alive(&dead), Some(false));
        // A live pid with another start time is another process (the pid was reused).
        let reused = format!("{host}/{boot}/{}/1", std::process::id());
        assert_eq!(alive(&reused), Some(false));
    }

    #[test]
    fn a_holder_on_another_machine_is_judged_by_its_heartbeat() {
        let elsewhere = "other-host/boot/1/1";
        assert_eq!(alive(elsewhere), None);
        let lease = LEASE.as_millis() as i64;
        assert!(!gone(Some(elsewhere), 1_000, 1_000 + lease));
        assert!(gone(Some(elsewhere), 1_000, 1_001 + lease));
        // Records from before leases: judged by when they were last written.
        assert!(gone(None, 0, lease + 1) && !gone(None, 0, 10));
        // On this machine, the process decides at once, whatever the heartbeat says.
        assert!(!gone(Some(&this_process()), 0, i64::MAX));
    }
}
