"""Peak memory of a process tree: the largest sum of PSS over a command and its descendants.

PSS (proportional set size) charges a page shared by N processes 1/N to each, so the sum over
processes counts every page once: shared mappings are not double-counted, private copies are.

Usage: pss.py CMD [ARGS...]   prints {"peak_pss_bytes": ..., "seconds": ..., "exit": ...}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pss(root: int) -> int:
    tree, total, todo = children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += pss(pid)
        todo.extend(tree.get(pid, []))
    return total


def main() -> None:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_pss(proc.pid))
        time.sleep(0.02)  # a sampling period, not synchronisation
    print(json.dumps({"peak_pss_bytes": peak, "seconds": time.perf_counter() - start, "exit": proc.returncode}))


if __name__ == "__main__":
    main()
