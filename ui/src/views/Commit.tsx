import { lake } from "../api";
import { Link, Loading, Page } from "../components/common";
import { useLoad } from "../hooks";
import { short, when } from "../time";

/** One commit: its tables and what happened to each, the run that made it, its parents. */
export function CommitView({ id }: { id: string }) {
  const c = useLoad(async () => {
    const { commits } = await lake.log({ at: id, limit: 1n });
    if (!commits[0]) throw new Error(`no commit ${id}`);
    return commits[0];
  }, [id]);
  return (
    <Page title={<>Commit <code>{short(id)}</code></>}>
      <Loading data={c.data} error={c.error}>
        {(c) => {
          const run = c.properties["bayou_run_id"];
          return (
            <>
              <dl className="facts">
                <dt>message</dt><dd className="message">{c.message}</dd>
                <dt>author</dt><dd>{c.author}</dd>
                <dt>time</dt><dd>{when(c.timeMs)}</dd>
                <dt>parents</dt>
                <dd>{c.parents.length === 0 ? "none" : c.parents.map((p) => (
                  <span key={p}><Link to={{ view: "commit", id: p }}><code>{short(p)}</code></Link> </span>
                ))}</dd>
                {run && <><dt>made by run</dt><dd><Link to={{ view: "run", id: run }}>{run}</Link></dd></>}
                {Object.entries(c.properties).filter(([k]) => k !== "bayou_run_id").map(([k, v]) => (
                  <span key={k} className="contents"><dt>{k}</dt><dd>{v}</dd></span>
                ))}
              </dl>
              <h2>Tables changed</h2>
              <table className="grid">
                <thead><tr><th>table</th><th>operation</th><th>snapshot</th></tr></thead>
                <tbody>
                  {c.operations.map((o) => (
                    <tr key={`${o.namespace}.${o.name}`} data-table={`${o.namespace}.${o.name}`}>
                      <td>
                        {o.put ? <Link to={{ view: "table", ref: c.id, namespace: o.namespace, name: o.name }}>{o.namespace}.{o.name}</Link>
                          : `${o.namespace}.${o.name}`}
                      </td>
                      <td>{o.put ? "put" : "drop"}</td>
                      <td><code>{o.put?.snapshotId?.toString() ?? "-"}</code></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Loading>
    </Page>
  );
}
