import { useEffect, useState } from "react";
import { describe, lake } from "../api";
import { Link, Page, Problem } from "../components/common";
import type { Commit } from "../gen/bayou/v1/bayou_pb";
import { short, when } from "../time";

const PAGE = 50n;

/** Whether `c` passes the filters (each one a case-insensitive substring; `key=value` for
 * properties). */
export function matches(c: Commit, author: string, message: string, property: string): boolean {
  const has = (text: string, part: string) => text.toLowerCase().includes(part.trim().toLowerCase());
  if (author && !has(c.author, author)) return false;
  if (message && !has(c.message, message)) return false;
  if (property) {
    const [k, v] = property.split("=", 2);
    const value = c.properties[k.trim()];
    if (value === undefined || (v !== undefined && !has(value, v))) return false;
  }
  return true;
}

/** A ref's commit log, newest first, a page at a time, filtered by author, message or
 * property. */
export function Log({ reference }: { reference: string }) {
  const [commits, setCommits] = useState<Commit[]>([]);
  const [head, setHead] = useState<string>();
  const [more, setMore] = useState(true);
  const [error, setError] = useState<string>();
  const [author, setAuthor] = useState("");
  const [message, setMessage] = useState("");
  const [property, setProperty] = useState("");
  const [loading, setLoading] = useState(false);

  async function page(at: string, after: string | undefined) {
    setLoading(true);
    setError(undefined);
    try {
      const { commits: next } = await lake.log({ at, limit: PAGE, after });
      setCommits((c) => (after ? [...c, ...next] : next));
      setMore(BigInt(next.length) === PAGE);
    } catch (e) {
      setError(describe(e));
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    setCommits([]);
    setError(undefined);
    lake.resolve({ spec: reference }).then(
      (r) => {
        setHead(r.commit);
        return page(r.commit, undefined);
      },
      (e) => setError(describe(e)),
    );
  }, [reference]);

  const shown = commits.filter((c) => matches(c, author, message, property));
  return (
    <Page
      title={<>Commits of <code>{reference}</code></>}
      actions={<>
        <Link to={{ view: "compare", a: "main", b: reference }}>compare with main</Link>
        <Link to={{ view: "query", ref: reference }}>query</Link>
      </>}
    >
      <div className="filters">
        <input aria-label="author" placeholder="author" value={author} onChange={(e) => setAuthor(e.target.value)} />
        <input aria-label="message" placeholder="message" value={message} onChange={(e) => setMessage(e.target.value)} />
        <input aria-label="property" placeholder="property=value" value={property} onChange={(e) => setProperty(e.target.value)} />
      </div>
      <Problem error={error} />
      <table className="grid">
        <thead><tr><th>commit</th><th>author</th><th>time</th><th>message</th><th>tables</th></tr></thead>
        <tbody>
          {shown.map((c) => (
            <tr key={c.id} data-commit={c.id}>
              <td><Link to={{ view: "commit", id: c.id }}><code>{short(c.id)}</code></Link></td>
              <td>{c.author}</td>
              <td>{when(c.timeMs)}</td>
              <td className="message">{c.message}</td>
              <td>{c.operations.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more && head && commits.length > 0 && (
        <button disabled={loading} onClick={() => page(head, commits[commits.length - 1].id)}>Older commits</button>
      )}
    </Page>
  );
}
