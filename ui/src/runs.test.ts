import { describe, expect, it } from "vitest";
import { emptyRun, fold, foldAll, type NodeReport, type RunRecord, type RunUpdate } from "./runs";

const report = (name: string, status: NodeReport["status"], cached = false): NodeReport => ({
  name, kind: "sql", status, rows: 1, seconds: 0.1, cached, materialized: null, error: null, log: [],
});

describe("a run followed live", () => {
  it("turns nodes from pending to running to their outcome, and gathers their log lines", () => {
    const plan = [
      { name: "a", kind: "sql", runs_in: "datafusion", inputs: [], writes: "-" },
      { name: "b", kind: "python", runs_in: "python 3.11", inputs: [], writes: "-" },
    ];
    let v = fold(emptyRun(), { update: "event", event: { event: "started", run_id: "r", run_branch: null, plan } }, 0);
    expect(v.states).toEqual({ a: "pending", b: "pending" });
    v = fold(v, { update: "event", event: { event: "node_started", node: "a" } }, 5);
    expect(v.states.a).toBe("running");
    expect(v.started.a).toBe(5);
    v = fold(v, { update: "event", event: { event: "log", node: "a", line: "hello", stderr: false } }, 6);
    v = fold(v, { update: "event", event: { event: "node_finished", report: report("a", "succeeded", true) } }, 7);
    v = fold(v, { update: "event", event: { event: "node_finished", report: report("b", "failed") } }, 8);
    expect(v.states).toEqual({ a: "cached", b: "failed" });
    expect(v.logs).toEqual([{ node: "a", line: "hello", stderr: false }]);
    expect(v.done).toBe(false);
  });

  it("places a node on the timeline by its report's start, not by when a late follower heard it", () => {
    const plan = [{ name: "a", kind: "sql", runs_in: "", inputs: [], writes: "-" }];
    let v = fold(emptyRun(), { update: "event", event: { event: "started", run_id: "r", run_branch: null, plan } }, 0);
    v = fold(v, { update: "event", event: { event: "node_started", node: "a" } }, 900);
    v = fold(v, { update: "event", event: { event: "node_finished", report: { ...report("a", "succeeded"), started_ms: 100 } } }, 900);
    expect(v.started.a).toBe(100);
  });

  it("takes the record at the end, keeping the lines heard live and marking unrun nodes skipped", () => {
    const record: RunRecord = {
      id: "r", project: null, target_branch: "main", run_branch: null, dry_run: false, status: "failed",
      plan: [
        { name: "a", kind: "sql", runs_in: "", inputs: [], writes: "-" },
        { name: "c", kind: "sql", runs_in: "", inputs: [], writes: "-" },
      ],
      nodes: [{ ...report("a", "failed"), log: ["boom"] }], warnings: [], error: "a failed", published: null,
      user: "ana", started_ms: 0, finished_ms: 10,
    };
    const live = [{ node: "a", line: "one", stderr: false }, { node: "a", line: "boom", stderr: true }];
    const v = fold({ ...emptyRun(), logs: live }, { update: "finished", record }, 10);
    expect(v.states).toEqual({ a: "failed", c: "skipped" });
    expect(v.logs).toEqual(live);
    expect(v.done).toBe(true);
  });

  it("applies a batch of updates as one by one, in order, lines between events included", () => {
    const plan = [{ name: "a", kind: "python", runs_in: "", inputs: [], writes: "-" }];
    const line = (l: string): RunUpdate => ({ update: "event", event: { event: "log", node: "a", line: l, stderr: false } });
    const updates: RunUpdate[] = [
      { update: "event", event: { event: "started", run_id: "r", run_branch: null, plan } },
      { update: "event", event: { event: "node_started", node: "a" } },
      line("one"),
      line("two"),
      { update: "event", event: { event: "node_finished", report: report("a", "succeeded") } },
      line("three"),
    ];
    const batched = foldAll(emptyRun(), updates, 3);
    const single = updates.reduce((v, u) => fold(v, u, 3), emptyRun());
    expect(batched).toEqual(single);
    expect(batched.logs.map((l) => l.line)).toEqual(["one", "two", "three"]);
  });
});
