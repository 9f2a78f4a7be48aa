import { useLayoutEffect, useRef, useState } from "react";
import { atEnd, LINE_HEIGHT, visible } from "../logs";
import type { LogLine } from "../runs";

/** A run's log, virtualised: only the lines in view are in the page. It follows new lines
 * while scrolled to the end. */
export function LogView({ lines, height = 360 }: { lines: LogLine[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [follow, setFollow] = useState(true);
  // Following, the view is at the end whatever the last scroll event said.
  const top = follow ? Math.max(0, lines.length * LINE_HEIGHT - height) : scrollTop;
  const w = visible(lines.length, top, height);
  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = w.height;
  }, [lines.length, follow, w.height]);
  return (
    <div
      ref={box}
      className="log"
      style={{ height }}
      tabIndex={0}
      aria-label="log"
      data-lines={lines.length}
      onScroll={(e) => {
        const t = e.currentTarget;
        setScrollTop(t.scrollTop);
        setFollow(atEnd(t.scrollTop, t.clientHeight, t.scrollHeight));
      }}
    >
      <div style={{ height: w.height, position: "relative" }}>
        <div style={{ position: "absolute", top: w.top, left: 0, right: 0 }}>
          {lines.slice(w.first, w.last).map((l, i) => (
            <div key={w.first + i} className={l.stderr ? "log-line stderr" : "log-line"} style={{ height: LINE_HEIGHT }}>
              <span className="log-node">{l.node}</span> {l.line}
            </div>
          ))}
        </div>
      </div>
      {lines.length === 0 && <p className="muted">No output.</p>}
    </div>
  );
}
