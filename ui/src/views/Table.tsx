import { lake } from "../api";
import { Link, Loading, Page } from "../components/common";
import { useLoad } from "../hooks";
import { bytes, when } from "../time";
import { Preview } from "./Query";

/** A table at a ref: schema, partitioning, size, snapshots, first rows, and how to query it. */
export function TableView({ reference, namespace, name }: { reference: string; namespace: string; name: string }) {
  const info = useLoad(() => lake.tableInfo({ reference, namespace, name }), [reference, namespace, name]);
  const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const sql = `SELECT * FROM ${ident(namespace)}.${ident(name)} LIMIT 10`;
  return (
    <Page title={<><code>{namespace}.{name}</code> at <code>{reference}</code></>}>
      <Loading data={info.data} error={info.error}>
        {(t) => (
          <>
            <dl className="facts">
              <dt>rows</dt><dd data-fact="rows">{t.rows.toString()}</dd>
              <dt>size</dt><dd>{bytes(t.sizeBytes)} in {t.dataFiles.toString()} {t.dataFiles === 1n ? "file" : "files"}</dd>
              <dt>partitioned by</dt><dd>{t.partitioning || "nothing"}</dd>
              <dt>snapshot</dt><dd><code>{t.snapshotId?.toString() ?? "-"}</code></dd>
              <dt>metadata</dt><dd><code className="wrap">{t.metadataLocation}</code></dd>
            </dl>
            <h2>Schema</h2>
            <table className="grid">
              <thead><tr><th>column</th><th>type</th><th>nullable</th></tr></thead>
              <tbody>
                {t.columns.map((c) => (
                  <tr key={c.name} data-column={c.name}><td>{c.name}</td><td><code>{c.dataType}</code></td><td>{c.nullable ? "yes" : "no"}</td></tr>
                ))}
              </tbody>
            </table>
            <h2>First rows</h2>
            <Preview reference={reference} sql={sql} />
            <h2>Query it</h2>
            <pre className="sql">{`bayou query --ref ${reference} "${sql}"`}</pre>
            <Link to={{ view: "query", ref: reference }}>open in the query box</Link>
            <h2>Snapshots</h2>
            <table className="grid">
              <thead><tr><th>snapshot</th><th>time</th><th>operation</th><th>added rows</th><th>total rows</th></tr></thead>
              <tbody>
                {t.snapshots.map((s) => (
                  <tr key={s.snapshotId.toString()}>
                    <td><code>{s.snapshotId.toString()}</code></td><td>{when(s.timestampMs)}</td><td>{s.operation}</td>
                    <td>{s.addedRecords.toString()}</td><td>{s.totalRecords.toString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loading>
    </Page>
  );
}
