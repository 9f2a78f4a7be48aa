import { useEffect, useState } from "react";
import { describe, lake, session, unauthenticated } from "./api";
import { href, parse, type Route } from "./route";
import { CommitView } from "./views/Commit";
import { Compare } from "./views/Compare";
import { Log } from "./views/Log";
import { Query } from "./views/Query";
import { Refs } from "./views/Refs";
import { Run } from "./views/Run";
import { Runs } from "./views/Runs";
import { SignIn } from "./views/SignIn";
import { TableView } from "./views/Table";

function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** The page of `route`, made anew for each address: nothing of one table, commit or query shows
 * under another's title. */
function View({ route }: { route: Route }) {
  return <Routed key={href(route)} route={route} />;
}

function Routed({ route }: { route: Route }) {
  switch (route.view) {
    case "refs":
      return <Refs />;
    case "log":
      return <Log reference={route.ref} />;
    case "commit":
      return <CommitView id={route.id} />;
    case "compare":
      return <Compare a={route.a} b={route.b} />;
    case "table":
      return <TableView reference={route.ref} namespace={route.namespace} name={route.name} />;
    case "runs":
      return <Runs />;
    case "run":
      return <Run id={route.id} />;
    case "query":
      return <Query reference={route.ref} />;
  }
}

export function App() {
  const route = useRoute();
  const [user, setUser] = useState<string | null>();
  // Why the key kept in this tab could not be used, when it was not refused (the server down).
  const [notice, setNotice] = useState<string>();
  useEffect(() => {
    if (!session.key()) return setUser(null);
    lake.whoAmI({}).then(
      (me) => setUser(me.user),
      (e) => {
        if (unauthenticated(e)) {
          session.signOut();
          setNotice("The key this tab kept was refused (revoked?): sign in again.");
        } else setNotice(`The server did not answer: ${describe(e)}`);
        setUser(null);
      },
    );
  }, []);
  if (user === undefined) return null;
  if (user === null) return <SignIn onSignedIn={setUser} notice={notice} />;
  const nav: [string, Route][] = [
    ["Branches", { view: "refs" }],
    ["Runs", { view: "runs" }],
    ["Query", { view: "query", ref: "main" }],
  ];
  return (
    <>
      <nav className="top">
        <a className="brand" href={href({ view: "refs" })}>bayou</a>
        {nav.map(([label, to]) => (
          <a key={label} href={href(to)} aria-current={to.view === route.view ? "page" : undefined}>{label}</a>
        ))}
        <span className="spacer" />
        <span className="user" data-user={user}>{user}</span>
        <button className="quiet" onClick={() => { session.signOut(); setUser(null); }}>Sign out</button>
      </nav>
      <main>
        <View route={route} />
      </main>
    </>
  );
}
