// The page's address: everything after `#`, so the server serves one page for all of them and
// links keep working when shared.

export type Route =
  | { view: "refs" }
  | { view: "log"; ref: string }
  | { view: "commit"; id: string }
  | { view: "compare"; a: string; b: string }
  | { view: "table"; ref: string; namespace: string; name: string }
  | { view: "runs" }
  | { view: "run"; id: string }
  | { view: "query"; ref: string };

export function parse(hash: string): Route {
  let parts: string[];
  try {
    parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return { view: "refs" }; // a malformed escape
  }
  const [view, ...rest] = parts;
  switch (view) {
    case "log":
      if (rest.length === 1) return { view, ref: rest[0] };
      break;
    case "commit":
      if (rest.length === 1) return { view, id: rest[0] };
      break;
    case "compare":
      if (rest.length === 2) return { view, a: rest[0], b: rest[1] };
      break;
    case "table":
      if (rest.length === 3) return { view, ref: rest[0], namespace: rest[1], name: rest[2] };
      break;
    case "runs":
      return rest.length === 1 ? { view: "run", id: rest[0] } : { view: "runs" };
    case "query":
      return { view, ref: rest[0] ?? "main" };
  }
  return { view: "refs" };
}

export function href(route: Route): string {
  const enc = (...parts: string[]) => "#/" + parts.map(encodeURIComponent).join("/");
  switch (route.view) {
    case "refs":
      return enc("refs");
    case "log":
      return enc("log", route.ref);
    case "commit":
      return enc("commit", route.id);
    case "compare":
      return enc("compare", route.a, route.b);
    case "table":
      return enc("table", route.ref, route.namespace, route.name);
    case "runs":
      return enc("runs");
    case "run":
      return enc("runs", route.id);
    case "query":
      return enc("query", route.ref);
  }
}
