import type { NodeReport, NodeState, PlanNode } from "../runs";
import { seconds } from "../time";

/** Each node's span on the run's clock: when it started and how long it took. */
export function Gantt({ plan, states, started, reports, origin, now }: {
  plan: PlanNode[];
  states: Record<string, NodeState>;
  started: Record<string, number>;
  reports: Record<string, NodeReport>;
  origin: number;
  now: number;
}) {
  const spans = plan.map((n) => {
    const start = started[n.name];
    const r = reports[n.name];
    const end = r && start !== undefined ? start + r.seconds * 1000 : states[n.name] === "running" ? now : start;
    return { name: n.name, start, end, state: states[n.name] ?? "pending" };
  });
  const total = Math.max(1, ...spans.map((s) => (s.end ?? origin) - origin));
  return (
    <div className="gantt" role="table" aria-label="timeline">
      {spans.map((s) => (
        <div key={s.name} className="gantt-row" role="row">
          <span className="gantt-name" role="cell">{s.name}</span>
          <span className="gantt-track" role="cell">
            {s.start !== undefined && (
              <span
                className={`gantt-bar state-${s.state}`}
                style={{
                  left: `${((s.start - origin) / total) * 100}%`,
                  width: `${Math.max(0.5, (((s.end ?? s.start) - s.start) / total) * 100)}%`,
                }}
                title={`${seconds(((s.end ?? s.start) - s.start) / 1000)}`}
              />
            )}
          </span>
        </div>
      ))}
      <div className="gantt-row muted">
        <span />
        <span className="gantt-scale"><span>0</span><span>{seconds(total / 1000)}</span></span>
      </div>
    </div>
  );
}
