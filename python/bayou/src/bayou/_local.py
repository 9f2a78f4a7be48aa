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
        self._proc = subprocess.Popen(
            [binary, "-O", "json", "server", "--listen", "127.0.0.1:0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if not first:
            error = self._proc.stderr.read() if self._proc.stderr else ""
            raise exc.UnavailableError(f"the local bayou server did not start: {error.strip()}")
        started = json.loads(first)
        self.url: str = started["listening"]
        self.lake: str = started["lake"]
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait()

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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f)
