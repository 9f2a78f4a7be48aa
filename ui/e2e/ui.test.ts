// The web UI end to end: a real server, real runs started from the CLI, the page in headless
// Chromium. The steps build on each other (sign in, branch, run on it, compare and merge), so
// they run in order in one page.
import { createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Server } from "./bayou";
import { launch } from "./browser";
import { copy, failing, gated } from "./projects";

let server: Server;
let browser: Browser;
let page: Page;
const shots = process.env.UI_SCREENSHOTS;

async function shot(name: string) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`) });
}

async function detached(dir: string, branch: string): Promise<string> {
  const out = JSON.parse(await server.cli("-O", "json", "run", "-p", dir, "-r", branch, "--detach"));
  return out.run_id as string;
}

beforeAll(async () => {
  server = await start("ana");
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => console.error("page error:", e));
});

afterAll(async () => {
  await browser?.close();
  server?.stop();
});

describe("the web UI", () => {
  it("refuses a wrong key and signs in with a right one", async () => {
    await page.goto(server.url);
    await page.getByLabel("API key").fill("bayou_nope_0000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/key/i);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("[data-user=ana]").waitFor();
    await page.locator("[data-ref=main]").waitFor();
  });

  it("creates a branch and lists it with its head", async () => {
    await page.getByLabel("new ref name").fill("ana.dev");
    await page.getByRole("button", { name: "Create" }).click();
    const row = page.locator("[data-ref='ana.dev']");
    await row.waitFor();
    const main = await page.locator("[data-ref=main] td:nth-child(3)").textContent();
    expect(await row.locator("td:nth-child(3)").textContent()).toBe(main);
    await shot("branches");
  });

  it("shows a run live: its DAG turns green and its log lines appear as they are printed", async () => {
    // The function holds the gate open until the page has seen it running.
    const gate = createServer();
    const opened = new Promise<Socket>((resolve) => gate.once("connection", resolve));
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
    const id = await detached(gated((gate.address() as AddressInfo).port), "ana.dev");
    await page.goto(`${server.url}/#/runs/${id}`);
    const node = page.locator("[data-node=gated_zones]");
    await page.locator(".log-line", { hasText: "waiting for the gate" }).waitFor({ timeout: 120_000 });
    // The function is still waiting: the page got the line while the run was going.
    expect(await node.getAttribute("data-state")).toBe("running");
    expect(await page.locator("[data-run-status]").getAttribute("data-run-status")).toBe("running");
    await shot("run-live");
    (await opened).end("g");
    gate.close();
    await page.locator("[data-node=gated_zones][data-state=succeeded]").waitFor();
    await page.locator("[data-run-status=succeeded]").waitFor();
    await page.locator(".log-line", { hasText: "through the gate with 265 zones" }).waitFor();
  });

  it("opens the branch's log and the commit the run made, which links back to the run", async () => {
    await page.goto(`${server.url}/#/log/ana.dev`);
    const newest = page.locator("[data-commit] a").first();
    await newest.click();
    await page.locator("[data-table='bayou.gated_zones']").waitFor();
    await page.getByRole("link", { name: /^\d+-/ }).click();
    await page.locator("[data-run-status=succeeded]").waitFor();
  });

  it("compares the branch with main and merges it", async () => {
    await page.goto(`${server.url}/#/compare/main/ana.dev`);
    const row = page.locator("[data-table='bayou.gated_zones']");
    await row.waitFor();
    expect(await row.locator("td:nth-child(2)").textContent()).toBe("added");
    expect(await row.locator("td:nth-child(4)").textContent()).toBe("265");
    await shot("compare");
    await page.getByRole("button", { name: "Merge ana.dev into main" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/merged ana.dev into main/);
    await page.getByText("No differences.").waitFor();
    const tables = await server.cli("-O", "json", "table", "ls", "--ref", "main");
    expect(tables).toContain("gated_zones");
  });

  it("names the tables of a merge conflict", async () => {
    const project = copy();
    for (const b of ["ana.left", "ana.right"]) {
      await server.cli("branch", "create", b, "--from-ref", "main");
      await server.cli("run", "-p", project, "-r", b);
    }
    await page.goto(`${server.url}/#/refs`);
    const merge = async (source: string) => {
      await page.getByLabel("merge source").fill(source);
      await page.getByRole("button", { name: "Merge", exact: true }).click();
    };
    await merge("ana.left");
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/merged ana.left into main/);
    await merge("ana.right");
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/cannot merge 'ana.right' into 'main'.*bayou.zones_copy/s);
  });

  it("shows a table: its rows, schema and first rows", async () => {
    await page.goto(`${server.url}/#/table/main/bayou/gated_zones`);
    await page.locator("[data-fact=rows]", { hasText: "265" }).waitFor();
    await page.locator("[data-column=Borough]").waitFor();
    await page.locator(".results tbody tr").first().waitFor();
    expect(await page.locator(".results tbody tr").count()).toBe(10);
    await shot("table");
  });

  it("points at a failed run's failing node and its traceback", async () => {
    const id = await detached(failing(), "main");
    await page.goto(`${server.url}/#/runs/${id}`);
    await page.locator("[data-run-status=failed]").waitFor({ timeout: 120_000 });
    expect(await page.locator("[data-node=broken_zones]").getAttribute("data-state")).toBe("failed");
    await expect.poll(() => page.locator("[data-node-error=broken_zones]").textContent()).toContain("ValueError: boom: 265 zones");
    await page.locator(".log-line", { hasText: "Traceback" }).waitFor();
    await shot("run-failed");
  });

  it("runs SQL in the query box and shows where an error is", async () => {
    await page.goto(`${server.url}/#/query/main`);
    await page.getByLabel("SQL").fill("SELECT Borough, COUNT(*) AS zones FROM bayou.gated_zones GROUP BY Borough ORDER BY zones DESC");
    await page.getByRole("button", { name: /Run/ }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/^\d+ rows/);
    expect(await page.locator(".results tbody tr").count()).toBeGreaterThan(1);
    await shot("query");
    // More rows than the box shows: the first 1,000, said so.
    await page.getByLabel("SQL").fill("SELECT * FROM taxi_fhvhv");
    await page.getByRole("button", { name: /Run/ }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/^1000 rows \(the first 1000\)/);
    expect(await page.locator(".results tbody tr").count()).toBe(1000);
    await page.getByLabel("SQL").fill("SELECT Borough\nFROM bayou.gated_zones WHER LocationID = 1");
    await page.getByRole("button", { name: /Run/ }).click();
    const at = page.getByLabel("error position");
    await at.waitFor();
    expect(await at.textContent()).toMatch(/FROM bayou.gated_zones WHER LocationID = 1\n\s+\^/);
  });

  it("lists runs newest first and filters them by status and by branch", async () => {
    await page.goto(`${server.url}/#/runs`);
    await page.locator("[data-run]").nth(1).waitFor();
    await page.getByLabel("status").selectOption("failed");
    await expect.poll(() => page.locator("[data-run]").count()).toBe(1);
    await shot("runs");
    // The server filters by branch, so a match past the first page is not missed.
    await page.getByLabel("status").selectOption("");
    const all = JSON.parse(await server.cli("-O", "json", "job", "ls", "-n", "1000")).length;
    const intoDev = JSON.parse(await server.cli("-O", "json", "job", "ls", "--branch", "ana.dev")).length;
    expect(intoDev).toBeGreaterThan(0);
    expect(intoDev).toBeLessThan(all);
    await page.getByLabel("branch").fill("ana.dev");
    await expect.poll(() => page.locator("[data-run]").count()).toBe(intoDev);
  });

  it("lays out a pipeline's DAG: every node green, an edge for each model it reads", async () => {
    const out = JSON.parse(await server.cli("-O", "json", "run", "-p", "../examples/taxi_pipeline", "-r", "main"));
    await page.goto(`${server.url}/#/runs/${out.id}`);
    await page.locator("[data-run-status=succeeded]").waitFor();
    const states = await page.locator("[data-node]").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-state")));
    expect(states).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    expect(await page.locator(".dag-edge").count()).toBe(3);
    await shot("run");
  });

  it("reruns a run: a new run of the same code opens and succeeds", async () => {
    const first = page.url();
    await page.getByRole("button", { name: "Rerun" }).click();
    await page.waitForURL((url) => url.toString() !== first);
    const id = decodeURIComponent(page.url().split("/").pop()!);
    await page.locator("h1", { hasText: id }).locator("[data-run-status=succeeded]").waitFor();
    const record = JSON.parse(await server.cli("-O", "json", "job", "get", id));
    expect(record.replay_of).toBe(decodeURIComponent(first.split("/").pop()!));
    expect(record.status).toBe("succeeded");
  });

  it("cancels a running run, and its branch stays as it was", async () => {
    const main = async () => {
      const branches: { name: string; head: string }[] = JSON.parse(await server.cli("-O", "json", "branch", "ls"));
      return branches.find((b) => b.name === "main")?.head;
    };
    const before = await main();
    const gate = createServer();
    const opened = new Promise<Socket>((resolve) => gate.once("connection", resolve));
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
    const id = await detached(gated((gate.address() as AddressInfo).port), "main");
    await page.goto(`${server.url}/#/runs/${id}`);
    await page.locator(".log-line", { hasText: "waiting for the gate" }).waitFor({ timeout: 120_000 });
    await opened;
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator("[data-run-status=failed]").waitFor();
    gate.close();
    expect(await main()).toBe(before);
  });

  it("works on a narrow screen", async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${server.url}/#/refs`);
    await page.locator("[data-ref=main]").waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
