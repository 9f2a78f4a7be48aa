"""A warm start for bayou's functions: one process per environment, pyarrow already imported.

Usage: python bayou_zygote.py SOCKET IDLE_SECONDS

The zygote listens on a Unix socket that only its own user may use. Each connection is one call:
a JSON line (`request`: the runner's request file, `cwd`, `sandbox`: the paths to bind and
whether the internet is allowed, `cgroups`: the `cgroup.procs` files the call joins) sent with
two file descriptors, the call's stdout and stderr. The zygote clones a child into new
namespaces, puts it in its cgroups, lets it build its sandbox (bayou_sandbox.enter) and run the
request exactly as a fresh runner would, then answers `{"pid": N}` and, when the child is gone,
`{"status": WAIT_STATUS}`. Closing the connection early kills the call.

The zygote never runs user code or reads a request, so every call starts from the same clean
state; it exits after IDLE_SECONDS without calls, or once its environment has been removed.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow  # noqa: F401 - what every call would otherwise import itself
import pyarrow.ipc  # noqa: F401

import bayou_runner
import bayou_sandbox

MAX_REQUEST = 1 << 20

# Imported once the zygote is idle, so that no call waits for them: what a call reaching past
# the IPC reader pays most for on its first use (the compute functions ~60 ms, Acero's
# group_by and joins ~80 ms more). A call forked before they are in still imports them itself.
WARM_LATER = ("pyarrow.compute", "pyarrow.acero")


@dataclass
class Call:
    conn: socket.socket
    pid: int = 0
    pidfd: int = -1
    buffer: bytearray = field(default_factory=bytearray)


def spawn(call: dict[str, Any], stdout: int, stderr: int) -> int:
    """Starts the call in a child cloned from this process; its pid."""
    sandbox = call.get("sandbox")
    go_r, go_w = os.pipe()
    pid = bayou_sandbox.clone(sandbox is not None, bool(sandbox and sandbox.get("internet")))
    if pid == 0:
        code = 127
        try:
            os.close(go_w)
            os.read(go_r, 1)  # the parent has mapped our ids and placed us in our cgroups
            child(call, stdout, stderr)
        except BaseException as e:  # noqa: BLE001 - reported on the call's stderr
            os.write(2, f"error: the warm start failed: {e}\n".encode())
        finally:
            os._exit(code)
    os.close(go_r)
    try:
        for procs in call.get("cgroups", []):
            with open(procs, "w") as f:
                f.write(str(pid))
        if sandbox is not None:
            bayou_sandbox.map_ids(pid)
        os.write(go_w, b"g")
    except OSError:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(go_w)
    return pid


def child(call: dict[str, Any], stdout: int, stderr: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the zygote's own handler is not the call's
    signal.set_wakeup_fd(-1)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    # Nothing of the zygote's or of other calls' descriptors stays open.
    os.closerange(3, 1 << 16)
    sandbox = call.get("sandbox")
    if sandbox is not None:
        bayou_sandbox.enter(sandbox["read_only"], sandbox["writable"], sandbox.get("internet", False), call["cwd"])
    else:
        os.chdir(call["cwd"])
    # The call's "start" phase ends here: clone, cgroups and sandbox; the import is done.
    started = time.time()
    bayou_runner.finish(bayou_runner.serve(call["request"], started))


def warm_up(module: str, done: bool) -> None:
    """Imports `module` into the zygote, so the calls forked after it find it imported."""
    try:
        importlib.import_module(module)
    except ImportError as e:  # a pyarrow built without it: its calls import what they can
        print(f"not warmed: {module}: {e}", file=sys.stderr, flush=True)
    if done:
        print("warm", file=sys.stderr, flush=True)


def peer_is_us(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid == os.getuid()


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass  # bayou is gone; the call ends all the same


class Zygote:
    def __init__(self, path: str, idle: float) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.path, self.idle = path, idle
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.calls: dict[int, Call] = {}
        self.last_call = time.monotonic()
        self.stopping = False
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        # A signal wakes the loop at once rather than at its next timeout.
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        self.selector.register(self.wake_r, selectors.EVENT_READ, ("wake", None))

    def stop(self) -> None:
        """Takes no new calls; the zygote exits once those running are done."""
        if not self.stopping:
            self.stopping = True
            self.selector.unregister(self.listener)
            self.listener.close()
            self.unlink()

    def unlink(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def serve(self) -> None:
        env = sys.prefix
        later = list(WARM_LATER)
        while True:
            events = self.selector.select(timeout=0 if later else min(self.idle, 5.0))
            if not events and later:
                warm_up(later.pop(0), done=not later)
                continue
            for key, _ in events:
                if key.data is None:
                    if not self.stopping:
                        self.accept()
                elif key.data[0] == "wake":
                    os.read(self.wake_r, 512)
                elif key.data[0] == "conn":
                    self.readable(key.data[1])
                else:
                    self.exited(key.data[1])
            quiet = not self.calls and time.monotonic() - self.last_call > self.idle
            if not os.path.isdir(env) or quiet:
                self.stop()
            if self.stopping and not self.calls:
                break

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        if not peer_is_us(conn):
            conn.close()
            return
        call = Call(conn)
        self.calls[conn.fileno()] = call
        self.selector.register(conn, selectors.EVENT_READ, ("conn", call))
        self.last_call = time.monotonic()

    def readable(self, call: Call) -> None:
        if call.pid:
            # bayou sends nothing after the request: this is it hanging up, so the call ends.
            os.kill(call.pid, signal.SIGKILL)
            self.selector.unregister(call.conn)
            return
        try:
            data, fds, _, _ = socket.recv_fds(call.conn, MAX_REQUEST, 2)
        except OSError:
            data, fds = b"", []
        call.buffer += data
        if data and not call.buffer.endswith(b"\n") and len(call.buffer) < MAX_REQUEST:
            for fd in fds:
                os.close(fd)
            return
        try:
            if len(fds) != 2:
                raise ValueError("a call comes with its stdout and stderr")
            pid = spawn(json.loads(call.buffer), fds[0], fds[1])
        except Exception as e:  # noqa: BLE001 - the caller is told and falls back to a cold start
            send(call.conn, {"error": f"{type(e).__name__}: {e}"})
            self.close(call)
            return
        finally:
            for fd in fds:
                os.close(fd)
        call.pid, call.pidfd = pid, os.pidfd_open(pid)
        self.selector.register(call.pidfd, selectors.EVENT_READ, ("exit", call))
        send(call.conn, {"pid": pid})

    def exited(self, call: Call) -> None:
        _, status = os.waitpid(call.pid, 0)
        self.selector.unregister(call.pidfd)
        os.close(call.pidfd)
        send(call.conn, {"status": status})
        self.close(call)

    def close(self, call: Call) -> None:
        self.calls.pop(call.conn.fileno(), None)
        try:
            self.selector.unregister(call.conn)
        except (KeyError, ValueError):
            pass
        call.conn.close()
        self.last_call = time.monotonic()


def main() -> None:
    path, idle = sys.argv[1], float(sys.argv[2])
    os.umask(0o077)
    zygote = Zygote(path, idle)
    # Ready: bayou waits for this line, then the zygote's stdout is no longer read.
    print("ready", flush=True)
    os.dup2(os.open("/dev/null", os.O_WRONLY), 1)
    zygote.serve()


if __name__ == "__main__":
    main()
