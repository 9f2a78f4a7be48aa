"""The embedded default: with no server configured, a `Client` starts `bayou server` on
127.0.0.1 over the machine's default lake (the one the CLI uses) and stops it when closed.

The API key it makes for that server is kept in `~/.bayou/local-keys.json` (mode 0600), one per
lake, and reused while the lake's catalog still knows it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

from . import exceptions as exc


class LocalServer:
    """A `bayou server` child process on a free loopback port."""

    def __init__(self) -> None:
        binary = os.environ.get("BAYOU_BIN") or shutil.which("bayou")
        if not binary:
            raise exc.UnavailableError(
                "no bayou server configured and no `bayou` binary to start one\n  hint: put bayou "
                "on PATH (or set BAYOU_BIN), or pass remote='http://HOST:PORT'"
            )
        self.binary = binary
        env = {k: v for k, v in os.environ.items() if k not in ("BAYOU_REMOTE", "BAYOU_API_KEY")}
        self._env = env
        # The server's log goes to a file: a pipe nobody reads would stall it once full.
        log_path = Path(os.environ.get("HOME", "~")).expanduser() / ".bayou" / "local-server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self._proc = subprocess.Popen(
            [binary, "-O", "json", "server", "--listen", "127.0.0.1:0"],
            env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        atexit.register(self.stop)
        assert self._proc.stdout is not None
        try:
            started = json.loads(self._proc.stdout.readline())
            self.url: str = started["listening"]
            self.lake: str = started["lake"]
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise exc.UnavailableError(
                f"the local bayou server did not start\n  hint: see {log_path}"
            ) from None

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait()
        self._log.close()

    def new_key(self) -> str:
        user = os.environ.get("BAYOU_AUTHOR") or os.environ.get("USER") or "local"
        made = subprocess.run(
            [self.binary, "-O", "json", "server", "key", "create", "--user", user],
            env=self._env, capture_output=True, text=True,
        )
        if made.returncode != 0:
            raise exc.BauplanError(f"cannot make a key for the local server: {made.stderr.strip()}")
        key: str = json.loads(made.stdout)["key"]
        _store_key(self.lake, key)
        return key


def _keys_file() -> Path:
    return Path(os.environ.get("HOME", "~")).expanduser() / ".bayou" / "local-keys.json"


def stored_key(lake: str) -> Optional[str]:
    try:
        keys = json.loads(_keys_file().read_text())
    except (OSError, ValueError):
        return None
    key = keys.get(lake) if isinstance(keys, dict) else None
    return key if isinstance(key, str) else None


def _store_key(lake: str, key: str) -> None:
    path = _keys_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keys = json.loads(path.read_text())
    except (OSError, ValueError):
        keys = {}
    keys[lake] = key
    # Written whole to a private new file, then moved over the old one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".local-keys-")
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        json.dump(keys, f)
    os.replace(tmp, path)
