import { useState } from "react";
import { describe, lake } from "../api";
import { Link, Loading, Page, Problem } from "../components/common";
import type { Column, DiffEntry } from "../gen/bayou/v1/bayou_pb";
import { useLoad } from "../hooks";

export type Change = "added" | "removed" | "changed";

export interface TableChange {
  table: string;
  namespace: string;
  name: string;
  change: Change;
  rowsA?: bigint;
  rowsB?: bigint;
  /** Columns added, removed or retyped from a to b, as `+name type`, `-name type`,
   * `~name a -> b`. */
  schema: string[];
}

export function changeOf(e: DiffEntry): Change {
  return !e.from ? "added" : !e.to ? "removed" : "changed";
}

/** The schema differences from `a` to `b`. */
export function schemaDiff(a: Column[], b: Column[]): string[] {
  const before = new Map(a.map((c) => [c.name, c.dataType]));
  const after = new Map(b.map((c) => [c.name, c.dataType]));
  const out: string[] = [];
  for (const [name, t] of after) {
    const was = before.get(name);
    if (was === undefined) out.push(`+${name} ${t}`);
    else if (was !== t) out.push(`~${name} ${was} -> ${t}`);
  }
  for (const [name, t] of before) if (!after.has(name)) out.push(`-${name} ${t}`);
  return out;
}

async function compare(a: string, b: string): Promise<TableChange[]> {
  const [ra, rb] = await Promise.all([lake.resolve({ spec: a }), lake.resolve({ spec: b })]);
  const { entries } = await lake.diff({ a: ra.commit, b: rb.commit });
  return Promise.all(
    entries.map(async (e) => {
      const change = changeOf(e);
      const info = (ref: string) => lake.tableInfo({ reference: ref, namespace: e.namespace, name: e.name });
      const [ia, ib] = await Promise.all([
        change === "added" ? undefined : info(ra.commit),
        change === "removed" ? undefined : info(rb.commit),
      ]);
      return {
        table: `${e.namespace}.${e.name}`,
        namespace: e.namespace,
        name: e.name,
        change,
        rowsA: ia?.rows,
        rowsB: ib?.rows,
        schema: schemaDiff(ia?.columns ?? [], ib?.columns ?? []),
      };
    }),
  );
}

/** What changed from ref `a` to ref `b`: tables added, removed and changed, with their rows and
 * schemas; and a button to merge `b` into `a`. */
export function Compare({ a, b }: { a: string; b: string }) {
  const diff = useLoad(() => compare(a, b), [a, b]);
  const [merged, setMerged] = useState<string>();
  const [error, setError] = useState<string>();
  async function merge() {
    setError(undefined);
    try {
      const r = await lake.merge({ source: b, into: a });
      setMerged(`merged ${b} into ${a}: ${r.result}, ${r.tablesChanged} tables changed`);
      diff.reload();
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <Page
      title={<>Compare <code>{a}</code> … <code>{b}</code></>}
      actions={<button onClick={merge}>Merge {b} into {a}</button>}
    >
      <Loading data={diff.data} error={diff.error}>
        {(rows) => rows.length === 0 ? <p className="muted">No differences.</p> : (
          <table className="grid">
            <thead><tr><th>table</th><th>change</th><th>rows in {a}</th><th>rows in {b}</th><th>schema</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.table} data-table={r.table} className={`change-${r.change}`}>
                  <td>{r.change === "removed" ? r.table : <Link to={{ view: "table", ref: b, namespace: r.namespace, name: r.name }}>{r.table}</Link>}</td>
                  <td>{r.change}</td>
                  <td>{r.rowsA?.toString() ?? "-"}</td>
                  <td>{r.rowsB?.toString() ?? "-"}</td>
                  <td>{r.schema.length === 0 ? "same" : r.schema.map((s) => <div key={s}><code>{s}</code></div>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      {merged && <p className="done" role="status">{merged}</p>}
      <Problem error={error} />
    </Page>
  );
}
