import { useState } from "react";
import { describe, lake } from "../api";
import { Link, Loading, Page, Problem } from "../components/common";
import { RefKind, type Ref } from "../gen/bayou/v1/bayou_pb";
import { useLoad } from "../hooks";
import { short, when } from "../time";

interface Head {
  ref: Ref;
  author: string;
  time: bigint;
  message: string;
}

async function heads(): Promise<Head[]> {
  const { refs } = await lake.listRefs({});
  return Promise.all(
    refs.map(async (ref) => {
      const { commits } = await lake.log({ at: ref.head, limit: 1n });
      const c = commits[0];
      return { ref, author: c?.author ?? "", time: c?.timeMs ?? 0n, message: c?.message ?? "" };
    }),
  );
}

/** Branches and tags: heads, authors, times; create, delete, merge. */
export function Refs() {
  const list = useLoad(heads, []);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const act = (what: () => Promise<string>) => async () => {
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await what());
      list.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  const branches = list.data?.filter((h) => h.ref.kind === RefKind.BRANCH).map((h) => h.ref.name) ?? [];
  return (
    <Page title="Branches and tags">
      <Loading data={list.data} error={list.error}>
        {(rows) => (
          <table className="grid">
            <thead>
              <tr><th>name</th><th>kind</th><th>head</th><th>author</th><th>time</th><th>message</th><th /></tr>
            </thead>
            <tbody>
              {rows.map((h) => (
                <tr key={`${h.ref.kind}:${h.ref.name}`} data-ref={h.ref.name}>
                  <td><Link to={{ view: "log", ref: h.ref.name }}>{h.ref.name}</Link></td>
                  <td>{h.ref.kind === RefKind.TAG ? "tag" : "branch"}</td>
                  <td><Link to={{ view: "commit", id: h.ref.head }}><code>{short(h.ref.head)}</code></Link></td>
                  <td>{h.author}</td>
                  <td>{when(h.time)}</td>
                  <td className="message">{h.message}</td>
                  <td className="row-actions">
                    <button
                      className="quiet"
                      aria-label={`delete ${h.ref.name}`}
                      onClick={act(async () => {
                        if (!confirm(`Delete ${h.ref.name}?`)) return "";
                        await lake.deleteRef({ name: h.ref.name, kind: h.ref.kind });
                        return `deleted ${h.ref.name}`;
                      })}
                    >
                      delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <CreateRef onCreate={(name, kind, from) => act(async () => {
        await lake.createRef({ name, kind, from });
        return `created ${name}`;
      })()} />
      <Merge branches={branches} onMerge={(source, into) => act(async () => {
        const r = await lake.merge({ source, into });
        return `merged ${source} into ${into}: ${r.result}, ${r.tablesChanged} tables changed`;
      })()} />
      {done && <p className="done" role="status">{done}</p>}
      <Problem error={error} />
    </Page>
  );
}

function CreateRef({ onCreate }: { onCreate: (name: string, kind: RefKind, from: string) => void }) {
  const [name, setName] = useState("");
  const [from, setFrom] = useState("main");
  const [kind, setKind] = useState(RefKind.BRANCH);
  return (
    <form className="inline-form" onSubmit={(e) => { e.preventDefault(); onCreate(name, kind, from); }}>
      <h2>New branch or tag</h2>
      <select aria-label="kind" value={kind} onChange={(e) => setKind(Number(e.target.value) as RefKind)}>
        <option value={RefKind.BRANCH}>branch</option>
        <option value={RefKind.TAG}>tag</option>
      </select>
      <input aria-label="new ref name" placeholder="name, e.g. ana.dev" value={name} onChange={(e) => setName(e.target.value)} />
      <label>from <input aria-label="from" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
      <button type="submit" disabled={!name}>Create</button>
    </form>
  );
}

function Merge({ branches, onMerge, source: initial = "", into: target = "main" }: {
  branches: string[];
  onMerge: (source: string, into: string) => void;
  source?: string;
  into?: string;
}) {
  const [source, setSource] = useState(initial);
  const [into, setInto] = useState(target);
  return (
    <form className="inline-form" onSubmit={(e) => { e.preventDefault(); onMerge(source, into); }}>
      <h2>Merge</h2>
      <input aria-label="merge source" list="branches" placeholder="branch" value={source} onChange={(e) => setSource(e.target.value)} />
      <label>into <input aria-label="merge into" list="branches" value={into} onChange={(e) => setInto(e.target.value)} /></label>
      <datalist id="branches">{branches.map((b) => <option key={b} value={b} />)}</datalist>
      <button type="submit" disabled={!source || !into}>Merge</button>
      {source && into && <Link to={{ view: "compare", a: into, b: source }}>compare first</Link>}
    </form>
  );
}
