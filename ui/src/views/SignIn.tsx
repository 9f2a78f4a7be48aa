import { useState } from "react";
import { describe, lake, session } from "../api";

/** Asks for an API key (made by `bayou server key create`); keeps it for this tab only. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (user: string) => void; notice?: string }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    session.signIn(key.trim());
    try {
      const me = await lake.whoAmI({});
      onSignedIn(me.user);
    } catch (err) {
      session.signOut();
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="sign-in" onSubmit={submit}>
      <h1>bayou</h1>
      <label>
        API key
        <input
          name="api-key"
          type="password"
          autoComplete="off"
          autoFocus
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="bayou_…"
        />
      </label>
      <p className="muted">Made by <code>bayou server key create --user USER</code>. Kept in this tab only.</p>
      <button type="submit" disabled={busy || !key.trim()}>Sign in</button>
      {error && <p className="problem" role="alert">{error}</p>}
    </form>
  );
}
