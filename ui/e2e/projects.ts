// Pipelines the end-to-end test runs through the CLI, written to a fresh directory each.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function project(name: string, models: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bayou-ui-${name}-`));
  writeFileSync(join(dir, "bauplan_project.yml"), `project:\n  id: 6f1c2a5e-0000-4a43-9a4d-${name.padEnd(12, "0").slice(0, 12).replace(/[^0-9a-f]/g, "a")}\n  name: ${name}\n`);
  writeFileSync(join(dir, "models.py"), models);
  return dir;
}

/** A model that prints, then waits for a byte from the test on 127.0.0.1:`port` (it asks for
 * the network to reach it), so the page sees the run while it runs. */
export function gated(port: number): string {
  return project("gated", `
import socket
import bauplan

@bauplan.model(materialization_strategy="REPLACE", internet_access=True)
@bauplan.python("3.11")
def gated_zones(data=bauplan.Model("taxi_zones", columns=["LocationID", "Borough"])):
    with socket.create_connection(("127.0.0.1", ${port})) as gate:
        print("waiting for the gate", flush=True)
        gate.recv(1)
    print(f"through the gate with {data.num_rows} zones", flush=True)
    return data
`);
}

/** A model that fails with a traceback. */
export function failing(): string {
  return project("failing", `
import bauplan

@bauplan.model()
@bauplan.python("3.11")
def broken_zones(data=bauplan.Model("taxi_zones")):
    raise ValueError(f"boom: {data.num_rows} zones and no plan")
`);
}

/** A model that copies the zones into a table of its own. */
export function copy(): string {
  return project("copy", `
import bauplan

@bauplan.model(materialization_strategy="REPLACE")
@bauplan.python("3.11")
def zones_copy(data=bauplan.Model("taxi_zones", columns=["LocationID", "Zone"])):
    return data
`);
}
