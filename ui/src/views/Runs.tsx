import { useState } from "react";
import { json, lake } from "../api";
import { Link, Loading, Page } from "../components/common";
import { useLoad } from "../hooks";
import type { RunRecord, RunStatus } from "../runs";
import { seconds, when } from "../time";

const PAGE = 50;
const STATUSES: RunStatus[] = ["running", "succeeded", "failed", "crashed"];

/** Runs, newest first, filtered by status, user and branch, a page at a time. */
export function Runs() {
  const [status, setStatus] = useState("");
  const [user, setUser] = useState("");
  const [branch, setBranch] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const runs = useLoad(async () => {
    const r = await lake.listRuns({
      limit: BigInt(limit),
      status: status || undefined,
      user: user || undefined,
      branch: branch.trim() || undefined,
    });
    return r.recordsJson.map((b) => json<RunRecord>(b));
  }, [status, user, branch, limit]);
  const shown = runs.data;
  return (
    <Page title="Runs" actions={<button onClick={runs.reload}>Refresh</button>}>
      <div className="filters">
        <select aria-label="status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <input aria-label="user" placeholder="user" value={user} onChange={(e) => setUser(e.target.value)} />
        <input aria-label="branch" placeholder="branch" value={branch} onChange={(e) => setBranch(e.target.value)} />
      </div>
      <Loading data={shown} error={runs.error}>
        {(rows) => (
          <>
            <table className="grid">
              <thead><tr><th>run</th><th>status</th><th>project</th><th>branch</th><th>user</th><th>started</th><th>took</th></tr></thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id} data-run={r.id}>
                    <td><Link to={{ view: "run", id: r.id }}><code>{r.id}</code></Link></td>
                    <td><span className={`badge state-${r.status}`}>{r.status}</span></td>
                    <td>{r.project ?? "-"}</td>
                    <td>{r.target_branch}</td>
                    <td>{r.user}</td>
                    <td>{when(r.started_ms)}</td>
                    <td>{r.finished_ms ? seconds((r.finished_ms - r.started_ms) / 1000) : "…"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {runs.data && runs.data.length >= limit && <button onClick={() => setLimit(limit + PAGE)}>Older runs</button>}
          </>
        )}
      </Loading>
    </Page>
  );
}
