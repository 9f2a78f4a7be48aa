import type { ReactNode } from "react";
import { href, type Route } from "../route";

export function Link({ to, children }: { to: Route; children: ReactNode }) {
  return <a href={href(to)}>{children}</a>;
}

export function Problem({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <pre className="problem" role="alert">
      {error}
    </pre>
  );
}

export function Loading<T>({ data, error, children }: { data: T | undefined; error?: string; children: (d: T) => ReactNode }) {
  if (error) return <Problem error={error} />;
  if (data === undefined) return <p className="muted">Loading…</p>;
  return <>{children(data)}</>;
}

export function Page({ title, actions, children }: { title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page">
      <header className="page-head">
        <h1>{title}</h1>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}
