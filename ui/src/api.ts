// The server's own gRPC API (the one the CLI uses), reached from the page as gRPC-web on the
// page's origin, each call carrying the signed-in user's API key.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Lake } from "./gen/bayou/v1/bayou_pb";

const KEY = "bayou.api_key";

/** The API key of this browser tab's session (kept in sessionStorage only). */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string): void => sessionStorage.setItem(KEY, key),
  signOut: (): void => sessionStorage.removeItem(KEY),
};

const withKey: Interceptor = (next) => async (req) => {
  const key = session.key();
  if (key) req.header.set("authorization", `Bearer ${key}`);
  return next(req);
};

export const transport = createGrpcWebTransport({
  baseUrl: typeof location === "undefined" ? "http://127.0.0.1" : location.origin,
  interceptors: [withKey],
});

export const lake = createClient(Lake, transport);

/** What a failed call says, for people: the server's message without the code prefix. */
export function describe(e: unknown): string {
  if (e instanceof ConnectError) return e.rawMessage || Code[e.code];
  return e instanceof Error ? e.message : String(e);
}

/** Whether `e` says the key is missing or no longer valid. */
export function unauthenticated(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.Unauthenticated;
}

const decoder = new TextDecoder();

/** A JSON document the server sends as bytes (run records and updates). */
export function json<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}
