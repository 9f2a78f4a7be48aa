import { useEffect, useState } from "react";
import type { Table } from "apache-arrow";
import { describe } from "../api";
import { Page } from "../components/common";
import { query, type Answer } from "../flight";

const LIMIT = 1000;

/** Where a SQL error points, from the parser's "Line: L, Column: C" (1-based). */
export function position(error: string): { line: number; column: number } | undefined {
  const m = /Line: (\d+), Column: (\d+)/.exec(error);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));
  return String(v);
}

export function Rows({ table }: { table: Table }) {
  const names = table.schema.fields.map((f) => f.name);
  const rows = table.toArray();
  return (
    <div className="scroll-x">
      <table className="grid results">
        <thead><tr>{names.map((n) => <th key={n}>{n}</th>)}</tr></thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>{names.map((n) => <td key={n}>{cell((r as Record<string, unknown>)[n])}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ErrorAt({ error, sql }: { error: string; sql: string }) {
  const at = position(error);
  const line = at ? sql.split("\n")[at.line - 1] : undefined;
  return (
    <div className="problem" role="alert">
      <pre>{error}</pre>
      {at && line !== undefined && (
        <pre className="error-at" aria-label="error position">{line}{"\n"}{" ".repeat(Math.max(0, at.column - 1))}^</pre>
      )}
    </div>
  );
}

/** The first rows of `sql` at `reference`. */
export function Preview({ reference, sql }: { reference: string; sql: string }) {
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const stop = new AbortController();
    query(reference, sql, 20, stop.signal).then(setAnswer, (e) => setError(describe(e)));
    return () => stop.abort();
  }, [reference, sql]);
  if (error) return <ErrorAt error={error} sql={sql} />;
  if (!answer) return <p className="muted">Loading…</p>;
  return <Rows table={answer.table} />;
}

/** A query box: SQL at a ref, the first rows as a table, errors with their position. */
export function Query({ reference }: { reference: string }) {
  const [ref, setRef] = useState(reference);
  const [sql, setSql] = useState("SHOW TABLES");
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [ran, setRan] = useState("");
  async function run() {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    setAnswer(undefined);
    setRan(sql);
    const started = performance.now();
    try {
      const a = await query(ref, sql, LIMIT);
      setAnswer(a);
      setTook(performance.now() - started);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }
  const [took, setTook] = useState(0);
  return (
    <Page title="Query">
      <form className="query" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <label>at <input aria-label="ref" value={ref} onChange={(e) => setRef(e.target.value)} /></label>
        <textarea
          aria-label="SQL"
          rows={6}
          value={sql}
          spellCheck={false}
          onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void run(); } }}
        />
        <button type="submit" disabled={busy || !sql.trim()}>{busy ? "Running…" : "Run (Ctrl+Enter)"}</button>
      </form>
      {error && <ErrorAt error={error} sql={ran} />}
      {answer && (
        <>
          <p className="muted" role="status">
            {answer.table.numRows} rows{answer.truncated ? ` (the first ${LIMIT})` : ""} in {Math.round(took)} ms
          </p>
          <Rows table={answer.table} />
        </>
      )}
    </Page>
  );
}
