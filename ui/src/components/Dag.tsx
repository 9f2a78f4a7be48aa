import { useMemo } from "react";
import { BOX, layout } from "../dag";
import type { NodeState, PlanNode } from "../runs";

/** The run's DAG, left to right, each node coloured by how it stands. */
export function Dag({ plan, states, selected, onSelect }: {
  plan: PlanNode[];
  states: Record<string, NodeState>;
  selected?: string;
  onSelect: (name: string) => void;
}) {
  // Laid out once per plan, not on every render (a live run re-renders twice a second).
  const l = useMemo(() => layout(plan), [plan]);
  const path = (pts: { x: number; y: number }[]) => pts.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
  return (
    <div className="dag-frame">
      <svg className="dag" width={l.width} height={l.height} role="img" aria-label="the run's DAG">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" className="dag-arrow" />
          </marker>
        </defs>
        {l.edges.map((e) => (
          <path key={`${e.from}->${e.to}`} d={path(e.points)} className="dag-edge" markerEnd="url(#arrow)" />
        ))}
        {l.nodes.map((n) => {
          const state = states[n.name] ?? "pending";
          const kind = plan.find((p) => p.name === n.name)?.kind ?? "";
          return (
            <g
              key={n.name}
              transform={`translate(${n.x},${n.y})`}
              className={`dag-node state-${state}${selected === n.name ? " selected" : ""}`}
              data-node={n.name}
              data-state={state}
              tabIndex={0}
              role="button"
              aria-label={`${n.name}: ${state}`}
              onClick={() => onSelect(n.name)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onSelect(n.name)}
            >
              <title>{n.name}</title>
              <rect width={BOX.width} height={BOX.height} rx="6" />
              <text x="10" y="18" className="dag-name">{n.name.length > 22 ? n.name.slice(0, 21) + "…" : n.name}</text>
              <text x="10" y="34" className="dag-kind">{kind} · {state.replace("_", " ")}</text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
