// A real bayou server for the page to talk to: a fresh lake with the demo tables, one user's API
// key, `bayou server` on a free port of 127.0.0.1, and the CLI pointed at it.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const run = promisify(execFile);

export const BAYOU = process.env.BAYOU_BIN ?? "../target/debug/bayou";

export interface Server {
  url: string;
  key: string;
  lake: string;
  /** Runs the CLI against the server as the key's user; its stdout. */
  cli: (...args: string[]) => Promise<string>;
  stop: () => void;
}

async function local(lake: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(BAYOU, ["--lake", lake, ...args], { maxBuffer: 64 << 20 });
  return stdout;
}

/** Starts the server; resolves once it has printed the address it listens on. */
export async function start(user: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "bayou-ui-e2e-"));
  const lake = join(dir, "lake");
  await local(lake, "demo", "load", "--rows", "2000");
  const key = (await local(lake, "server", "key", "create", "--user", user)).trim().split("\n")[0].trim();
  const child: ChildProcess = spawn(BAYOU, ["--lake", lake, "server", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bayou server exited (${code}) before listening`)));
    lines.on("line", (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
  });
  const cli = async (...args: string[]) => {
    const { stdout } = await run(BAYOU, ["--remote", url, "--api-key", key, ...args], { maxBuffer: 64 << 20 });
    return stdout;
  };
  const stop = () => {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, key, lake, cli, stop };
}
