"""(b) Peak memory when three children read one large parent.

bayou: a SQL parent (all of taxi_fhvhv) read by three Python children that run at once; each
touches every page of its input and holds it for a moment. The peer: three processes that each
read the same rows from the table's Parquet files, touch them and hold them, as functions that
pass data through files do. Both are measured as the peak sum of PSS over the process tree.

Usage: sharing.py BAYOU LAKE PYTHON
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Reads one byte per page of every buffer, so every page is resident, then holds the table.
TOUCH = """
def touch(table):
    import time
    for column in table.columns:
        for chunk in column.chunks:
            for buf in chunk.buffers():
                if buf is not None and buf.size:
                    bytes(memoryview(buf)[::4096])
    time.sleep(3)
    return table.num_rows, table.nbytes
"""

CHILD = """
import bayou, pyarrow as pa
{touch}
@bayou.model()
def {name}(parent=bayou.Model('parent')):
    rows, nbytes = touch(parent)
    print('nbytes', nbytes)
    return pa.table({{'rows': [rows]}})
"""

PEER = """
import sys, pyarrow as pa, pyarrow.parquet as pq
{touch}
table = pq.read_table(sys.argv[1:]) if sys.argv[1:] else pa.table({{}})
rows, nbytes = touch(table)
print(nbytes)
"""


def measure(cmd: list[str]) -> int:
    out = subprocess.run([sys.executable, str(HERE / "pss.py"), *cmd], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    if result["exit"] != 0:
        raise SystemExit(f"{cmd} failed")
    return result["peak_pss_bytes"]


def main() -> None:
    bayou, lake, python = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory() as work:
        project = Path(work) / "project"
        project.mkdir()
        (project / "bayou_project.yml").write_text("project:\n  name: sharing\n")
        for name in ("c1", "c2", "c3"):
            (project / f"{name}.py").write_text(CHILD.format(touch=TOUCH, name=name))
        run = [bayou, "--lake", lake, "run", "-p", str(project), "--dry-run", "--no-cache", "-j", "4"]
        # The baseline: the same processes with an empty parent.
        (project / "parent.sql").write_text("SELECT * FROM taxi_fhvhv LIMIT 0\n")
        subprocess.run(run, check=True, capture_output=True)  # builds the environment
        ours_base = measure(run)
        (project / "parent.sql").write_text("SELECT * FROM taxi_fhvhv\n")
        ours = measure(run)

        meta = subprocess.run([bayou, "--lake", lake, "-O", "json", "table", "get", "taxi_fhvhv"], check=True, capture_output=True, text=True)
        location = json.loads(meta.stdout)["metadata_location"].rsplit("/metadata/", 1)[0].removeprefix("file://")
        files = sorted(str(p) for p in Path(location, "data").glob("*.parquet"))
        peer_script = Path(work) / "peer.py"
        peer_script.write_text(PEER.format(touch=TOUCH))
        launcher = Path(work) / "three.py"
        launcher.write_text(
            "import subprocess, sys\n"
            f"procs = [subprocess.Popen([{python!r}, {str(peer_script)!r}, *sys.argv[1:]], stdout=subprocess.PIPE, text=True) for _ in range(3)]\n"
            "outs = [p.communicate()[0] for p in procs]\n"
            "print(outs[0].strip())\n"
            "sys.exit(max(p.returncode for p in procs))\n"
        )
        table_bytes = int(subprocess.run([python, str(peer_script), *files], check=True, capture_output=True, text=True).stdout)
        theirs_base = measure([python, str(launcher)])
        theirs = measure([python, str(launcher), *files])

    gb = 1e9
    ratio = theirs / ours
    print(
        f"{'peak PSS, 3 children of one parent':<44} bayou {ours / gb:>10.2f} GB    | "
        f"{'3 readers of the Parquet files':<36} {theirs / gb:>10.2f} GB    | bayou is {ratio:.2f}x better"
    )
    data_ours, data_theirs = ours - ours_base, theirs - theirs_base
    print(
        f"    the parent is {table_bytes / gb:.2f} GB in Arrow; above the processes' own baseline "
        f"(bayou {ours_base / gb:.2f} GB, peer {theirs_base / gb:.2f} GB) the data costs bayou "
        f"{data_ours / table_bytes:.2f}x the table and the peer {data_theirs / table_bytes:.2f}x"
    )
    print("JSON " + json.dumps({"bench": "peak PSS 3 children", "bayou": ours, "bayou_baseline": ours_base, "peer_value": theirs, "peer_baseline": theirs_base, "table_bytes": table_bytes, "unit": "bytes", "ratio": ratio}))


if __name__ == "__main__":
    main()
