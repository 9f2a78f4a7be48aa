import { describe, expect, it } from "vitest";
import { href, parse, type Route } from "./route";

describe("page addresses", () => {
  it("round-trip every view, names with slashes and spaces included", () => {
    const routes: Route[] = [
      { view: "refs" },
      { view: "log", ref: "ana/dev branch" },
      { view: "commit", id: "abc123" },
      { view: "compare", a: "main", b: "ana/dev" },
      { view: "table", ref: "main", namespace: "bayou", name: "trips" },
      { view: "runs" },
      { view: "run", id: "20261204-1" },
      { view: "query", ref: "v1" },
    ];
    for (const r of routes) expect(parse(href(r))).toEqual(r);
  });

  it("sends an unknown or malformed address to the branches", () => {
    expect(parse("")).toEqual({ view: "refs" });
    expect(parse("#/nowhere")).toEqual({ view: "refs" });
    expect(parse("#/commit")).toEqual({ view: "refs" });
    expect(parse("#/log/%E0")).toEqual({ view: "refs" });
  });
});
