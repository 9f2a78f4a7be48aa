import { useEffect, useMemo, useState } from "react";
import { describe, json, lake } from "../api";
import { Link, Page, Problem } from "../components/common";
import { href } from "../route";
import { Dag } from "../components/Dag";
import { Gantt } from "../components/Gantt";
import { LogView } from "../components/LogView";
import { emptyRun, foldAll, type RunUpdate, type RunView } from "../runs";
import { bytes, seconds, when } from "../time";

/** Follows run `id`: its updates as they happen (the server replays those so far first), then
 * its record. */
function useRun(id: string): [RunView, string | undefined] {
  const [view, setView] = useState<RunView>(emptyRun);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const stop = new AbortController();
    setView(emptyRun());
    setError(undefined);
    // Updates are applied once per frame, together: a run printing thousands of lines a
    // second renders a few times a second, not once per line.
    let pending: RunUpdate[] = [];
    let frame = 0;
    const apply = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setView((v) => foldAll(v, batch, Date.now()));
    };
    (async () => {
      try {
        for await (const u of lake.followRun({ id }, { signal: stop.signal })) {
          pending.push(json<RunUpdate>(u.updateJson));
          if (!frame) frame = requestAnimationFrame(apply);
        }
      } catch (e) {
        if (!stop.signal.aborted) setError(describe(e));
      }
    })();
    return () => {
      stop.abort();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);
  return [view, error];
}

/** One run: its DAG coloured by status, a timeline, each node's figures, and the log, live. */
export function Run({ id }: { id: string }) {
  const [view, error] = useRun(id);
  // undefined: the failed node, if any; null: every node.
  const [selected, setSelected] = useState<string | null>();
  const [acted, setActed] = useState<string>();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (view.done) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [view.done]);
  const r = view.record;
  const failed = view.plan.find((n) => view.states[n.name] === "failed" || view.states[n.name] === "expectation_failed");
  const focus = selected === undefined ? failed?.name : (selected ?? undefined);
  const lines = useMemo(() => (focus ? view.logs.filter((l) => l.node === focus) : view.logs), [view.logs, focus]);
  const origin = r?.started_ms ?? Math.min(now, ...Object.values(view.started));
  const status = r?.status ?? "running";
  async function cancel() {
    try {
      await lake.cancelRun({ id });
      setActed("cancel asked; the run stops at its next step");
    } catch (e) {
      setActed(describe(e));
    }
  }
  const [rerunning, setRerunning] = useState(false);
  async function rerun() {
    setRerunning(true);
    try {
      for await (const u of lake.rerun({ id, detach: true })) {
        const update = json<RunUpdate>(u.updateJson);
        if (update.update === "detached") location.hash = href({ view: "run", id: update.run_id });
        if (update.update === "finished") setActed(update.record.error ?? "the rerun ended at once");
      }
    } catch (e) {
      setActed(describe(e));
    } finally {
      setRerunning(false);
    }
  }
  return (
    <Page
      title={<>Run <code>{id}</code> <span className={`badge state-${status}`} data-run-status={status}>{status}</span></>}
      actions={view.done
        ? <button onClick={rerun} disabled={rerunning} title="the same code over the data it read, into a new run branch">Rerun</button>
        : <button onClick={cancel}>Cancel</button>}
    >
      <Problem error={error} />
      {acted && <p className="done" role="status">{acted}</p>}
      {r && (
        <dl className="facts">
          <dt>project</dt><dd>{r.project ?? "-"}</dd>
          <dt>branch</dt><dd><Link to={{ view: "log", ref: r.target_branch }}>{r.target_branch}</Link>{r.dry_run ? " (dry run)" : ""}</dd>
          <dt>user</dt><dd>{r.user}</dd>
          <dt>started</dt><dd>{when(r.started_ms)}</dd>
          {r.finished_ms && <><dt>took</dt><dd>{seconds((r.finished_ms - r.started_ms) / 1000)}</dd></>}
          {r.published && <><dt>published</dt><dd><Link to={{ view: "commit", id: r.published }}><code>{r.published.slice(0, 12)}</code></Link></dd></>}
        </dl>
      )}
      {r?.error && <pre className="problem run-error" role="alert">{r.error}</pre>}
      {view.plan.length > 0 && <Dag plan={view.plan} states={view.states} selected={focus} onSelect={(n) => setSelected(n === focus ? null : n)} />}
      <h2>Timeline</h2>
      <Gantt plan={view.plan} states={view.states} started={view.started} reports={view.reports} origin={origin} now={now} />
      <h2>Nodes</h2>
      <table className="grid">
        <thead><tr><th>node</th><th>status</th><th>runs in</th><th>rows</th><th>bytes</th><th>time</th><th>writes</th></tr></thead>
        <tbody>
          {view.plan.map((n) => {
            const rep = view.reports[n.name];
            const state = view.states[n.name] ?? "pending";
            return (
              <tr key={n.name} data-node-row={n.name} className={focus === n.name ? "selected" : undefined} onClick={() => setSelected(n.name)}>
                <td>{n.name}</td>
                <td><span className={`badge state-${state}`}>{state.replace("_", " ")}</span></td>
                <td>{n.runs_in}</td>
                <td>{rep?.rows ?? "-"}</td>
                <td>{bytes(rep?.bytes)}</td>
                <td>{rep ? seconds(rep.seconds) : "-"}</td>
                <td>{rep?.materialized ?? n.writes}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {focus && view.reports[focus]?.error && (
        <pre className="problem node-error" role="alert" data-node-error={focus}>{view.reports[focus]?.error}</pre>
      )}
      <h2>Log {focus ? <>of <code>{focus}</code> <button className="quiet" onClick={() => setSelected(null)}>all nodes</button></> : ""}</h2>
      {r?.logs_pruned && <p className="muted">This run's logs were pruned.</p>}
      <LogView key={focus ?? "all"} lines={lines} />
    </Page>
  );
}
