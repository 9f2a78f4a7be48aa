"""A scheduled pipeline as a plain script: what a cron job, Airflow or Prefect task would call.

    python examples/scheduled_pipeline.py PROJECT_DIR NEW_DATA_URI TABLE

1. a branch of main for this run, 2. new data imported into it, 3. an audit: a dry run of the
project on the branch, 4. the real run on the branch, 5. main moves only if all of it passed.
Whatever fails, main is unchanged and the branch is left to look at. The server and key come
from BAYOU_REMOTE / BAYOU_API_KEY (or a profile); `import bauplan` works the same.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import bayou


def main(project_dir: str, new_data: str, table: str) -> int:
    client = bayou.Client()
    user = client.info().user.username
    branch = f"{user}.scheduled_{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
    client.create_branch(branch, from_ref="main")
    imported = client.import_data(table, new_data, branch=branch)
    print(f"imported {imported.rows_written} rows into {table} on {branch}", *imported.notes, sep="\n")
    audit = client.run(project_dir, ref=branch, dry_run=True, strict="on")
    if audit.job_status != "SUCCESS":
        print(f"audit failed, main unchanged; see branch {branch}: {audit.error}", file=sys.stderr)
        return 1
    state = client.run(project_dir, ref=branch, strict="on")
    if state.job_status != "SUCCESS":
        print(f"run {state.job_id} failed, main unchanged: {state.error}", file=sys.stderr)
        return 1
    main_now = client.merge_branch(branch, into_branch="main")
    client.delete_branch(branch)
    print(f"main is now {main_now.hash[:12]} (run {state.job_id})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
