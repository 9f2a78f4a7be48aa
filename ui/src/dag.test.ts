import { describe, expect, it } from "vitest";
import { BOX, edgesOf, layout } from "./dag";
import type { PlanNode } from "./runs";

function node(name: string, parents: string[], tables: string[] = []): PlanNode {
  return {
    name,
    kind: "sql",
    runs_in: "datafusion",
    writes: "-",
    inputs: [
      ...parents.map((source) => ({ source, kind: "model" as const, columns: null, filter: null })),
      ...tables.map((source) => ({ source, kind: "table" as const, columns: null, filter: null })),
    ],
  };
}

// The example pipeline: trips feeds an expectation and pickups, pickups feeds the top zones.
const plan = [
  node("trips", [], ["taxi_fhvhv"]),
  node("trips_have_a_pickup_zone", ["trips"]),
  node("pickups", ["trips"], ["taxi_zones"]),
  node("top_pickup_zones", ["pickups"]),
];

describe("the DAG layout", () => {
  it("draws an edge for each model input and none for lake tables", () => {
    expect(edgesOf(plan)).toEqual([
      ["trips", "trips_have_a_pickup_zone"],
      ["trips", "pickups"],
      ["pickups", "top_pickup_zones"],
    ]);
  });

  it("puts every node right of its parents, and no two boxes on top of each other", () => {
    const l = layout(plan);
    const at = Object.fromEntries(l.nodes.map((n) => [n.name, n]));
    for (const [a, b] of edgesOf(plan)) expect(at[b].x).toBeGreaterThanOrEqual(at[a].x + BOX.width);
    for (const a of l.nodes) {
      for (const b of l.nodes) {
        if (a === b) continue;
        const apart =
          a.x + BOX.width <= b.x || b.x + BOX.width <= a.x || a.y + BOX.height <= b.y || b.y + BOX.height <= a.y;
        expect(apart, `${a.name} overlaps ${b.name}`).toBe(true);
      }
    }
  });

  it("fits every box and edge inside its size", () => {
    const l = layout(plan);
    for (const n of l.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.y).toBeGreaterThanOrEqual(0);
      expect(n.x + BOX.width).toBeLessThanOrEqual(l.width);
      expect(n.y + BOX.height).toBeLessThanOrEqual(l.height);
    }
    for (const e of l.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
  });

  it("ignores inputs that name models outside the plan (a partial run)", () => {
    const l = layout([node("pickups", ["trips"])]);
    expect(l.edges).toEqual([]);
    expect(l.nodes.map((n) => n.name)).toEqual(["pickups"]);
  });
});
