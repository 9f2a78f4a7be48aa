"""The zygote forks warm calls: each runs as a fresh runner would, sandboxed, and forgets the last."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

HERE = Path(__file__).resolve().parent
ZYGOTE = HERE.parent / "bayou_zygote.py"

sys.path.insert(0, str(HERE.parent))
import bayou_runner  # noqa: E402

MODELS = """
import os, sys
SEEN = []

def remember(data):
    SEEN.append(len(SEEN))
    print("calls seen", len(SEEN))
    return data.append_column("seen", [[len(SEEN)] * data.num_rows])

def peek(data, path):
    # Raises when the sandbox hides or refuses it.
    with open(path) as f:
        return data.append_column("text", [[f.read()] * data.num_rows])

def remount(data, path):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    # MS_REMOUNT | MS_BIND: making a read-only bind writable needs a capability.
    if libc.mount(None, path.encode(), None, 32 | 4096, None) != 0:
        raise PermissionError(ctypes.get_errno(), "remount refused")
    return data

def caps(data):
    import subprocess
    mine = [l for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm"))]
    child = subprocess.run(["/bin/cat", "/proc/self/status"], capture_output=True, text=True).stdout
    after_exec = [l for l in child.splitlines() if l.startswith(("CapEff", "CapPrm"))]
    return data.append_column("caps", [[" ".join(mine + after_exec)] * data.num_rows])

def reach(data, host):
    import socket
    socket.create_connection((host, 80), timeout=2).close()
    return data

def modules(data):
    warm = [m for m in ("pyarrow.compute", "pyarrow.acero") if m in sys.modules]
    return data.append_column("warm", [[",".join(warm)] * data.num_rows])

def scribble(data, path):
    with open(path, "w") as f:
        f.write("x")
    return data
"""


def sandboxes_work() -> bool:
    """Whether this machine lets an unprivileged process make user namespaces."""
    probe = subprocess.run(["unshare", "--user", "--map-current-user", "true"], capture_output=True)
    return shutil.which("unshare") is not None and probe.returncode == 0


def start(path: str, idle: str = "60", stderr: int | None = None) -> subprocess.Popen[bytes]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-u", str(ZYGOTE), path, idle]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


@pytest.fixture
def zygote() -> Iterator[str]:
    # A short path: Unix socket names are at most 107 bytes.
    sock_dir = tempfile.mkdtemp(prefix="bz-")
    path = os.path.join(sock_dir, "z.sock")
    proc = start(path)
    yield path
    proc.kill()
    proc.wait()
    shutil.rmtree(sock_dir)


@pytest.fixture
def talking() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A zygote whose stderr the test reads: it says `warm`, then `spare`, as it gets ready."""
    sock_dir = tempfile.mkdtemp(prefix="bz-")
    path = os.path.join(sock_dir, "t.sock")
    proc = start(path, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    yield path, proc
    proc.kill()
    proc.wait()
    shutil.rmtree(sock_dir)


def call(zygote: str, tmp: Path, function: str, params: dict, sandbox: dict | None) -> tuple[int, dict, str]:
    code, result, log, _ = call_with_reply(zygote, tmp, function, params, sandbox)
    return code, result, log


def call_with_reply(
    zygote: str, tmp: Path, function: str, params: dict, sandbox: dict | None
) -> tuple[int, dict, str, dict]:
    (tmp / "models.py").write_text(MODELS)
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    bayou_runner.write_output(pa.table({"a": [1, 2]}), str(out / "in.arrow"))
    request = {
        "project_dir": str(tmp),
        "file": "models.py",
        "function": function,
        "node": function,
        "kind": "model",
        "inputs": {"data": {"path": str(out / "in.arrow"), "columns": None}},
        "params": params,
        "output": str(out / "out.arrow"),
        "result": str(out / "result.json"),
    }
    (out / "request.json").write_text(json.dumps(request))
    (out / "result.json").unlink(missing_ok=True)  # a result is this call's, never the last one's
    message = {"request": str(out / "request.json"), "cwd": str(out), "sandbox": sandbox, "cgroups": []}
    log_r, log_w = os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(zygote)
        socket.send_fds(s, [(json.dumps(message) + "\n").encode()], [log_w, log_w])
        os.close(log_w)
        replies = s.makefile().read().splitlines()
    with os.fdopen(log_r) as f:
        log = f.read()
    started = json.loads(replies[0])
    assert "pid" in started, replies
    status = json.loads(replies[1])["status"]
    result = out / "result.json"
    assert result.exists(), f"no result; the call said:\n{log}"
    return os.waitstatus_to_exitcode(status), json.loads(result.read_text()), log, started


def box(tmp: Path, python_prefix: str) -> dict:
    """A sandbox as bayou asks for one: the paths every call shares first (`fixed` of them),
    then the call's own."""
    system = ["/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"]
    fixed = system + [python_prefix, str(HERE.parent)]
    return {"read_only": fixed + [str(tmp)], "fixed": len(fixed), "writable": [str(tmp / "out")], "internet": False}


def test_each_call_starts_from_the_zygotes_clean_state(zygote: str, tmp_path: Path) -> None:
    for _ in range(3):
        code, result, log = call(zygote, tmp_path, "remember", {}, None)
        assert code == 0, log
        assert result["rows"] == 2
        assert "calls seen 1" in log
        seen = pa.ipc.open_file(str(tmp_path / "out" / "out.arrow")).read_all()["seen"].to_pylist()
        assert seen == [1, 1]


def test_calls_forked_once_the_zygote_is_idle_find_the_compute_modules_imported(
    talking: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    path, proc = talking
    assert proc.stderr is not None
    said = proc.stderr.readline()
    assert said == b"warm\n", said
    code, result, log = call(path, tmp_path, "modules", {}, None)
    assert code == 0, log
    warm = pa.ipc.open_file(str(tmp_path / "out" / "out.arrow")).read_all()["warm"][0].as_py()
    assert warm == "pyarrow.compute,pyarrow.acero"


def test_a_failing_call_reports_its_error_and_exit_code(zygote: str, tmp_path: Path) -> None:
    code, result, log = call(zygote, tmp_path, "peek", {"path": str(tmp_path / "missing")}, None)
    assert code == 1
    assert "FileNotFoundError" in result["error"]
    assert "Traceback" in log


def test_a_stopped_or_idle_zygote_removes_its_socket_and_exits(tmp_path: Path) -> None:
    sock_dir = tempfile.mkdtemp(prefix="bz-")
    stopped = start(os.path.join(sock_dir, "a.sock"))
    stopped.terminate()
    assert stopped.wait(timeout=30) == 0
    idle = start(os.path.join(sock_dir, "b.sock"), idle="0.1")
    assert idle.wait(timeout=30) == 0
    assert os.listdir(sock_dir) == []
    shutil.rmtree(sock_dir)


def test_a_peer_of_another_user_is_refused(zygote: str) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to connect as another user")
    pid = os.fork()
    if pid == 0:
        os.setuid(65534)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(zygote)
                os._exit(0 if s.recv(1) == b"" else 1)
        except PermissionError:
            os._exit(0)  # the socket's own permissions refuse it first
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not sandboxes_work(), reason="user namespaces are not allowed here")
def test_a_sandboxed_call_sees_only_its_binds_and_writes_only_its_output(zygote: str, tmp_path: Path) -> None:
    prefix = os.path.realpath(sys.base_prefix)
    sandbox = box(tmp_path, prefix)
    secret = Path(tempfile.mkdtemp()) / "secret.txt"
    secret.write_text("hidden")
    (tmp_path / "visible.txt").write_text("shown")
    code, result, log = call(zygote, tmp_path, "peek", {"path": str(tmp_path / "visible.txt")}, sandbox)
    assert code == 0, log
    code, result, log = call(zygote, tmp_path, "peek", {"path": str(secret)}, sandbox)
    assert code == 1 and "FileNotFoundError" in result["error"], (result, log)
    code, result, log = call(zygote, tmp_path, "scribble", {"path": str(tmp_path / "models.py")}, sandbox)
    assert code == 1 and "Read-only file system" in result["error"], (result, log)
    code, result, log = call(zygote, tmp_path, "remount", {"path": str(tmp_path)}, sandbox)
    assert code == 1 and "remount refused" in result["error"], (result, log)
    code, result, log = call(zygote, tmp_path, "caps", {}, sandbox)
    assert code == 0, log
    caps = pa.ipc.open_file(str(tmp_path / "out" / "out.arrow")).read_all()["caps"][0].as_py()
    assert caps.count("0000000000000000") == 4, f"no capability, before or after an exec:\n{caps}"
    code, result, log = call(zygote, tmp_path, "reach", {"host": "1.1.1.1"}, sandbox)
    assert code == 1 and "unreachable" in result["error"], (result, log)
    code, result, log = call(zygote, tmp_path, "peek", {"path": "/proc/1/cmdline"}, sandbox)
    assert code == 0, log
    text = pa.ipc.open_file(str(tmp_path / "out" / "out.arrow")).read_all()["text"][0].as_py()
    assert "bayou_zygote" in text and "pytest" not in text, "PID 1 is the call itself, in its own PID namespace"
    shutil.rmtree(secret.parent)


@pytest.mark.skipif(not sandboxes_work(), reason="user namespaces are not allowed here")
def test_a_spare_child_made_ahead_serves_the_next_call_in_a_sandbox_as_tight(
    talking: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    path, proc = talking
    assert proc.stderr is not None
    sandbox = box(tmp_path, os.path.realpath(sys.base_prefix))
    secret = Path(tempfile.mkdtemp()) / "secret.txt"
    secret.write_text("hidden")
    (tmp_path / "visible.txt").write_text("shown")
    code, _, log, first = call_with_reply(path, tmp_path, "peek", {"path": str(tmp_path / "visible.txt")}, sandbox)
    assert code == 0 and first["spare"] is False, (first, log)
    # The zygote says so once it has made its first spare, for the next call to take.
    said = [proc.stderr.readline() for _ in range(2)]
    assert b"spare\n" in said, said
    code, _, log, second = call_with_reply(path, tmp_path, "peek", {"path": str(tmp_path / "visible.txt")}, sandbox)
    assert code == 0 and second["spare"] is True, (second, log)
    text = pa.ipc.open_file(str(tmp_path / "out" / "out.arrow")).read_all()["text"][0].as_py()
    assert text == "shown"
    # Taken from a spare, a call still sees only its own binds, writes only its output, and
    # keeps no capability; and each spare serves one call only.
    for function, params, failure in [
        ("peek", {"path": str(secret)}, "FileNotFoundError"),
        ("scribble", {"path": str(tmp_path / "models.py")}, "Read-only file system"),
        ("remount", {"path": str(tmp_path)}, "remount refused"),
        ("reach", {"host": "1.1.1.1"}, "unreachable"),
    ]:
        code, result, log, started = call_with_reply(path, tmp_path, function, params, sandbox)
        assert code == 1 and failure in result["error"], (function, result, log)
    code, result, log = call(path, tmp_path, "remember", {}, sandbox)
    assert code == 0 and "calls seen 1" in log, log
    shutil.rmtree(secret.parent)


@pytest.mark.skipif(not sandboxes_work(), reason="user namespaces are not allowed here")
def test_a_spare_is_not_used_once_a_path_it_binds_was_replaced(
    talking: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    path, proc = talking
    assert proc.stderr is not None
    # An environment-like directory every call shares, rebuilt in place between two calls.
    env = tmp_path / "env"
    env.mkdir()
    (env / "marker.txt").write_text("old")
    sandbox = box(tmp_path / "project", os.path.realpath(sys.base_prefix))
    sandbox["read_only"].insert(sandbox["fixed"], str(env))
    sandbox["fixed"] += 1
    project = tmp_path / "project"
    project.mkdir()
    code, _, log, _ = call_with_reply(path, project, "peek", {"path": str(env / "marker.txt")}, sandbox)
    assert code == 0, log
    said = [proc.stderr.readline() for _ in range(2)]
    assert b"spare\n" in said, said
    shutil.rmtree(env)
    env.mkdir()
    (env / "marker.txt").write_text("new")
    code, _, log, started = call_with_reply(path, project, "peek", {"path": str(env / "marker.txt")}, sandbox)
    assert code == 0 and started["spare"] is False, (started, log)
    text = pa.ipc.open_file(str(project / "out" / "out.arrow")).read_all()["text"][0].as_py()
    assert text == "new"
