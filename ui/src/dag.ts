// A run's DAG laid out left to right (dagre): where each node's box goes and the path of each
// edge, in pixels. Pure, so it is tested without a browser.
import dagre from "@dagrejs/dagre";
import type { PlanNode } from "./runs";

export const BOX = { width: 180, height: 44 };

export interface Placed {
  name: string;
  x: number; // the box's left edge
  y: number; // the box's top edge
}

export interface Edge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
}

export interface Layout {
  nodes: Placed[];
  edges: Edge[];
  width: number;
  height: number;
}

/** The edges of `plan`: each model input names its parent. Inputs reading lake tables, and
 * models outside the plan, draw none. */
export function edgesOf(plan: PlanNode[]): [string, string][] {
  const names = new Set(plan.map((n) => n.name));
  const edges: [string, string][] = [];
  for (const n of plan) {
    for (const i of n.inputs) {
      if (i.kind === "model" && names.has(i.source)) edges.push([i.source, n.name]);
    }
  }
  return edges;
}

export function layout(plan: PlanNode[]): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 64, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of plan) g.setNode(n.name, { ...BOX });
  const pairs = edgesOf(plan);
  for (const [a, b] of pairs) g.setEdge(a, b);
  dagre.layout(g);
  const nodes = plan.map((n) => {
    const p = g.node(n.name);
    return { name: n.name, x: p.x - BOX.width / 2, y: p.y - BOX.height / 2 };
  });
  const edges = pairs.map(([from, to]) => ({ from, to, points: g.edge(from, to).points ?? [] }));
  const graph = g.graph();
  return { nodes, edges, width: graph.width ?? 0, height: graph.height ?? 0 };
}
