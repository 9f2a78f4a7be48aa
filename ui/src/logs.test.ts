import { describe, expect, it } from "vitest";
import { atEnd, LINE_HEIGHT, visible } from "./logs";

describe("the log window", () => {
  it("renders a bounded number of lines however long the log", () => {
    const w = visible(1_000_000, 500_000 * LINE_HEIGHT, 400);
    expect(w.last - w.first).toBeLessThan(100);
    expect(w.first).toBeLessThanOrEqual(500_000);
    expect(w.last).toBeGreaterThan(500_000 + 400 / LINE_HEIGHT);
    expect(w.top).toBe(w.first * LINE_HEIGHT);
    expect(w.height).toBe(1_000_000 * LINE_HEIGHT);
  });

  it("renders all of a short log and nothing past its end", () => {
    expect(visible(5, 0, 400)).toEqual({ first: 0, last: 5, top: 0, height: 5 * LINE_HEIGHT });
    expect(visible(0, 0, 400)).toEqual({ first: 0, last: 0, top: 0, height: 0 });
  });

  it("follows the end only when the view is at the end", () => {
    expect(atEnd(1000 - 400, 400, 1000)).toBe(true);
    expect(atEnd(0, 400, 1000)).toBe(false);
  });
});
