// The run records and updates the server sends as JSON: the shapes of RunRecord, NodeReport,
// PlanNode and Event in crates/bayou-runtime (record.rs, event.rs) and RunUpdate in
// crates/bayou-service (runs.rs). Only the fields the page reads are named.

export type RunStatus = "running" | "succeeded" | "failed" | "crashed";
export type NodeStatus = "succeeded" | "failed" | "expectation_failed" | "skipped" | "from_lake";

export interface PlanInput {
  source: string;
  kind: "model" | "table";
  columns: string[] | null;
  filter: string | null;
}

export interface PlanNode {
  name: string;
  kind: string;
  runs_in: string;
  inputs: PlanInput[];
  writes: string;
}

export interface NodeReport {
  name: string;
  kind: string;
  status: NodeStatus;
  rows: number | null;
  seconds: number;
  bytes?: number;
  cached: boolean;
  materialized: string | null;
  error: string | null;
  log: string[];
  started_ms?: number;
}

export interface RunRecord {
  id: string;
  project: string | null;
  target_branch: string;
  run_branch: string | null;
  dry_run: boolean;
  status: RunStatus;
  plan: PlanNode[];
  nodes: NodeReport[];
  warnings: string[];
  error: string | null;
  published: string | null;
  user: string;
  logs_pruned?: boolean;
  started_ms: number;
  finished_ms: number | null;
}

export type RunEvent =
  | { event: "started"; run_id: string; run_branch: string | null; plan: PlanNode[] }
  | { event: "node_started"; node: string }
  | { event: "log"; node: string; line: string; stderr: boolean }
  | { event: "node_finished"; report: NodeReport }
  | { event: "env_ready"; node: string }
  | { event: "warning"; message: string }
  | { event: "progress"; message: string };

export type RunUpdate =
  | { update: "event"; event: RunEvent }
  | { update: "finished"; record: RunRecord }
  | { update: "detached"; run_id: string };

/** How a node of a run stands, as the page colours it. */
export type NodeState = "pending" | "running" | "cached" | NodeStatus;

export interface LogLine {
  node: string;
  line: string;
  stderr: boolean;
}

/** A run as the page shows it while it goes: folded from its record and updates. */
export interface RunView {
  record: RunRecord | null;
  plan: PlanNode[];
  states: Record<string, NodeState>;
  started: Record<string, number>;
  reports: Record<string, NodeReport>;
  logs: LogLine[];
  done: boolean;
}

export function emptyRun(): RunView {
  return { record: null, plan: [], states: {}, started: {}, reports: {}, logs: [], done: false };
}

function stateOf(report: NodeReport): NodeState {
  return report.cached && report.status === "succeeded" ? "cached" : report.status;
}

/** `view` after `update` (`now`: when it arrived, for the timeline of a live run). */
export function fold(view: RunView, update: RunUpdate, now: number): RunView {
  if (update.update === "finished") return fromRecord(update.record, view.logs);
  if (update.update === "detached") return view;
  const e = update.event;
  switch (e.event) {
    case "started": {
      const states: Record<string, NodeState> = {};
      for (const n of e.plan) states[n.name] = "pending";
      return { ...view, plan: e.plan, states: { ...states, ...view.states } };
    }
    case "node_started":
      return {
        ...view,
        states: { ...view.states, [e.node]: "running" },
        started: { ...view.started, [e.node]: now },
      };
    case "log":
      return { ...view, logs: [...view.logs, { node: e.node, line: e.line, stderr: e.stderr }] };
    case "node_finished": {
      // The report's own start time, where it has one: a follower that joins late hears the
      // earlier starts all at once.
      const at = e.report.started_ms;
      return {
        ...view,
        states: { ...view.states, [e.report.name]: stateOf(e.report) },
        started: at === undefined ? view.started : { ...view.started, [e.report.name]: at },
        reports: { ...view.reports, [e.report.name]: e.report },
      };
    }
    default:
      return view;
  }
}

/** `view` after each of `updates` in order: the log lines among them are appended in one copy,
 * so a run printing fast costs one array copy per batch, not one per line. */
export function foldAll(view: RunView, updates: RunUpdate[], now: number): RunView {
  let v = view;
  let lines: LogLine[] = [];
  const flush = () => {
    if (lines.length > 0) v = { ...v, logs: v.logs.concat(lines) };
    lines = [];
  };
  for (const u of updates) {
    if (u.update === "event" && u.event.event === "log") {
      lines.push({ node: u.event.node, line: u.event.line, stderr: u.event.stderr });
      continue;
    }
    flush();
    v = fold(v, u, now);
  }
  flush();
  return v;
}

/** A finished (or stored) run; `live`: the lines heard while following it, kept when the
 * record's own are fewer (a record keeps each node's last lines only). */
export function fromRecord(record: RunRecord, live: LogLine[] = []): RunView {
  const states: Record<string, NodeState> = {};
  const reports: Record<string, NodeReport> = {};
  for (const n of record.plan) states[n.name] = record.status === "running" ? "pending" : "skipped";
  for (const r of record.nodes) {
    states[r.name] = stateOf(r);
    reports[r.name] = r;
  }
  const stored = record.nodes.flatMap((r) =>
    r.log.map((line) => ({ node: r.name, line, stderr: false })),
  );
  const started: Record<string, number> = {};
  for (const r of record.nodes) if (r.started_ms !== undefined) started[r.name] = r.started_ms;
  return {
    record,
    plan: record.plan,
    states,
    started,
    reports,
    logs: live.length >= stored.length ? live : stored,
    done: record.status !== "running",
  };
}
