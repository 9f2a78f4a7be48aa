"""A warm start for bayou's functions: one process per environment, pyarrow already imported.

Usage: python bayou_zygote.py SOCKET IDLE_SECONDS

The zygote listens on a Unix socket that only its own user may use. Each connection is one call:
a JSON line (`request`: the runner's request file, `cwd`, `sandbox`: the paths to bind and
whether the internet is allowed, `cgroups`: the `cgroup.procs` files the call joins) sent with
two file descriptors, the call's stdout and stderr. The zygote clones a child into new
namespaces, puts it in its cgroups, lets it build its sandbox (bayou_sandbox.enter) and run the
request exactly as a fresh runner would, then answers `{"pid": N, "spare": BOOL}` and, when the
child is gone, `{"status": WAIT_STATUS}`. Closing the connection early kills the call.

When idle, the zygote keeps one spare child made ahead of the next sandboxed call: cloned,
its ids mapped, the part of its sandbox every call shares already built (the first `fixed` of
the call's read-only paths). A call that fits takes it and only adds its own binds, which saves
most of a warm start's time; a spare is used once.

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


def as_a_call() -> None:
    """The zygote's own signal handling is not a call's."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)


def own_stdio(null: int, stdout: int, stderr: int) -> None:
    """The call's stdio: `null` (/dev/null, opened), stdout and stderr; nothing of the zygote's
    or of other calls' descriptors stays open."""
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.closerange(3, 1 << 16)


def child(call: dict[str, Any], stdout: int, stderr: int) -> None:
    as_a_call()
    own_stdio(os.open("/dev/null", os.O_RDONLY), stdout, stderr)
    sandbox = call.get("sandbox")
    if sandbox is not None:
        bayou_sandbox.enter(sandbox["read_only"], sandbox["writable"], sandbox.get("internet", False), call["cwd"])
    else:
        os.chdir(call["cwd"])
    run_request(call["request"])


def run_request(request: str) -> None:
    # The call's "start" phase ends here: clone, cgroups and sandbox; the import is done.
    started = time.time()
    bayou_runner.finish(bayou_runner.serve(request, started))


class Spare:
    """A child cloned ahead of its call, idle in its namespaces with its ids mapped and the
    fixed part of its sandbox built (`fixed`: the read-only paths every call of this
    interpreter sees). A call takes it, sends its own binds, request and stdio over `sock`, and
    skips the clone and most of the mounts. One per zygote; used once."""

    def __init__(self, fixed: list[str]) -> None:
        self.fixed = fixed
        # Packets keep the call whole: one that cannot go in one packet fails to send, and the
        # call clones its own child instead.
        parent, kid = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        go_r, go_w = os.pipe()
        fixed_binds = bayou_sandbox.binds(fixed, [])
        self.targets = [target for _, target, _ in fixed_binds]
        pid = bayou_sandbox.clone(True, False)
        if pid == 0:
            code = 127
            try:
                parent.close()
                os.close(go_w)
                keep = {kid.fileno(), go_r, 0, 1, 2}
                for fd in [int(f) for f in os.listdir("/proc/self/fd")]:
                    if fd not in keep:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                as_a_call()
                os.read(go_r, 1)  # the zygote has mapped our ids
                null = os.open("/dev/null", os.O_RDONLY)  # not at this path once prepared
                bayou_sandbox.prepare(fixed_binds)
                # Ready, and what it bound: a path replaced since (an environment rebuilt in
                # place) no longer is what this spare would show.
                bound = identity(["/newroot" + t for t in self.targets])
                kid.sendall((json.dumps(bound) + "\n").encode())
                Spare.wait_for_call(kid, null)
            except BaseException as e:  # noqa: BLE001 - reported on the call's stderr, if any
                os.write(2, f"error: the warm start failed: {e}\n".encode())
            finally:
                os._exit(code)
        kid.close()
        os.close(go_r)
        self.pid, self.sock = pid, parent
        try:
            bayou_sandbox.map_ids(pid)
            os.write(go_w, b"g")
            parent.settimeout(10)  # a spare that cannot get ready is no spare
            ready = parent.recv(MAX_REQUEST)  # one packet, whole
            parent.settimeout(None)
            if not ready:
                raise OSError("the spare child ended before it was ready")
            self.identity = [tuple(i) if i else None for i in json.loads(ready)]
        except (OSError, ValueError):
            self.discard()
            raise
        finally:
            os.close(go_w)

    @staticmethod
    def wait_for_call(sock: socket.socket, null: int) -> None:
        data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 2)
        if not data or len(fds) != 2:
            return  # the zygote discarded us
        call = json.loads(data)
        own_stdio(null, fds[0], fds[1])
        binds = [(source, target, read_only) for source, target, read_only in call["binds"]]
        bayou_sandbox.finish(binds, False, call["cwd"])
        run_request(call["request"])

    def fits(self, sandbox: dict[str, Any]) -> bool:
        """Whether a call with `sandbox` may take this spare: no internet, the same fixed
        paths, and none of its own paths inside them (their mount points could not be made)."""
        fixed = sandbox.get("fixed", 0)
        if sandbox.get("internet") or fixed == 0 or sandbox["read_only"][:fixed] != self.fixed:
            return False
        if identity(self.targets) != self.identity:
            return False
        inside = lambda p, root: p.startswith(root.rstrip("/") + "/")  # noqa: E731
        own = sandbox["read_only"][fixed:] + sandbox["writable"]
        return not any(inside(p, root) or p == root for p in own for root in self.fixed)

    def take(self, call: dict[str, Any], stdout: int, stderr: int) -> int:
        """Hands `call` to the spare; its pid. Raises OSError when the spare is gone."""
        sandbox = call["sandbox"]
        for procs in call.get("cgroups", []):
            with open(procs, "w") as f:
                f.write(str(self.pid))
        message = {
            "request": call["request"],
            "cwd": call["cwd"],
            "binds": bayou_sandbox.binds(sandbox["read_only"][sandbox["fixed"]:], sandbox["writable"]),
        }
        socket.send_fds(self.sock, [json.dumps(message).encode()], [stdout, stderr])
        self.sock.close()
        return self.pid

    def discard(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        self.sock.close()


def identity(paths: list[str]) -> list[tuple[int, int] | None]:
    """The (device, inode) of each path, through symlinks; None for one that is missing."""
    out: list[tuple[int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((st.st_dev, st.st_ino))
        except OSError:
            out.append(None)
    return out


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
        self.spare: Spare | None = None
        # The fixed paths of the last sandboxed call: a spare is made for them when idle.
        self.spare_for: list[str] | None = None
        self.spared = False  # whether a spare was made yet (said once on stderr)
        self.last_call = time.monotonic()
        self.stopping = False
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        # A signal wakes the loop at once rather than at its next timeout.
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        self.selector.register(self.wake_r, selectors.EVENT_READ, ("wake", None))

    def wants_spare(self) -> bool:
        return not self.stopping and self.spare is None and self.spare_for is not None

    def make_spare(self) -> None:
        fixed, self.spare_for = self.spare_for, None
        try:
            self.spare = Spare(fixed or [])
        except (OSError, ValueError) as e:  # calls clone their own child instead
            print(f"no spare child: {e}", file=sys.stderr, flush=True)
            return
        if not self.spared:
            self.spared = True
            print("spare", file=sys.stderr, flush=True)

    def spawn(self, call: dict[str, Any], stdout: int, stderr: int) -> tuple[int, bool]:
        """Starts `call` in the spare child when it fits, else in a child cloned for it; its pid
        and whether it took the spare."""
        sandbox = call.get("sandbox")
        if sandbox is not None and sandbox.get("fixed", 0) > 0 and not sandbox.get("internet"):
            self.spare_for = sandbox["read_only"][: sandbox["fixed"]]
            spare, self.spare = self.spare, None
            if spare is not None and spare.fits(sandbox):
                try:
                    return spare.take(call, stdout, stderr), True
                except OSError:
                    spare.discard()
            elif spare is not None:
                spare.discard()
        return spawn(call, stdout, stderr), False

    def stop(self) -> None:
        """Takes no new calls; the zygote exits once those running are done."""
        if not self.stopping:
            if self.spare is not None:
                self.spare.discard()
                self.spare = None
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
        # The environment this zygote imported from; one rebuilt in its place is not it.
        mine = identity([env])
        later = list(WARM_LATER)
        while True:
            # A spare is made as soon as nothing else is waiting, so a call that follows
            # another at once finds it ready.
            soon = later or self.wants_spare()
            events = self.selector.select(timeout=0 if soon else min(self.idle, 5.0))
            if not events and later:
                warm_up(later.pop(0), done=not later)
                continue
            if not events and self.wants_spare():
                self.make_spare()
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
            if identity([env]) != mine or quiet:
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
            pid, spare = self.spawn(json.loads(call.buffer), fds[0], fds[1])
        except Exception as e:  # noqa: BLE001 - the caller is told and falls back to a cold start
            send(call.conn, {"error": f"{type(e).__name__}: {e}"})
            self.close(call)
            return
        finally:
            for fd in fds:
                os.close(fd)
        call.pid, call.pidfd = pid, os.pidfd_open(pid)
        self.selector.register(call.pidfd, selectors.EVENT_READ, ("exit", call))
        send(call.conn, {"pid": pid, "spare": spare})

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
