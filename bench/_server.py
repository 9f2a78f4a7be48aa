"""A `bayou server` for a benchmark: a key for user `bench` on LAKE, and the server on a free
loopback port (stopped by `stop()`)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass


@dataclass
class Served:
    url: str
    key: str
    env: dict[str, str]
    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def serve(binary: str, lake: str, env: dict[str, str] | None = None, extra: list[str] | None = None) -> Served:
    base = {k: v for k, v in (env or os.environ).items() if k not in ("BAYOU_REMOTE", "BAYOU_API_KEY")}
    made = subprocess.run(
        [binary, "--lake", lake, "-O", "json", "server", "key", "create", "--user", "bench"],
        check=True, capture_output=True, env=base,
    )
    key = json.loads(made.stdout)["key"]
    proc = subprocess.Popen(
        [binary, "--lake", lake, "-O", "json", "server", "--listen", "127.0.0.1:0", *(extra or [])],
        stdout=subprocess.PIPE, env=base,
    )
    assert proc.stdout is not None
    url = json.loads(proc.stdout.readline())["listening"]
    return Served(url=url, key=key, env=base, proc=proc)
