// SQL at a ref through the server's Arrow Flight service, as the CLI runs it: DoGet of a
// bayou.v1.QueryTicket; the answer's Arrow IPC messages are decoded here by Arrow's own
// JavaScript library.
import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { Message, tableFromIPC, type Table } from "apache-arrow";
import { lake, transport } from "./api";
import { FlightService, type FlightData } from "./gen/arrow/flight/flight_pb";
import { QueryTicketSchema } from "./gen/bayou/v1/bayou_pb";

const flight = createClient(FlightService, transport);

/** The FlightData of one answer as one Arrow IPC stream. */
export function ipcStream(messages: Pick<FlightData, "dataHeader" | "dataBody">[]): Uint8Array {
  const pad = (n: number) => (8 - (n % 8)) % 8;
  let size = 8; // the end-of-stream marker
  for (const m of messages) size += 8 + m.dataHeader.length + pad(m.dataHeader.length) + m.dataBody.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    const header = m.dataHeader.length + pad(m.dataHeader.length);
    view.setUint32(at, 0xffffffff, true);
    view.setInt32(at + 4, header, true);
    out.set(m.dataHeader, at + 8);
    at += 8 + header;
    out.set(m.dataBody, at);
    at += m.dataBody.length;
  }
  view.setUint32(at, 0xffffffff, true);
  view.setInt32(at + 4, 0, true);
  return out;
}

export interface Answer {
  table: Table;
  /** Whether rows past `limit` were left unread. */
  truncated: boolean;
}

/** `sql` at `reference` (a branch, tag or commit), reading at most `limit` rows. */
export async function query(reference: string, sql: string, limit: number, signal?: AbortSignal): Promise<Answer> {
  const { commit } = await lake.resolve({ spec: reference }, { signal });
  signal?.throwIfAborted();
  const ticket = toBinary(AnySchema, anyPack(QueryTicketSchema, create(QueryTicketSchema, { commit, sql })));
  const messages: FlightData[] = [];
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener("abort", onAbort);
  let rows = 0;
  let truncated = false;
  try {
    // Rows are counted from each record batch's header: nothing is decoded until the end.
    for await (const m of flight.doGet({ ticket }, { signal: stop.signal })) {
      messages.push(m);
      const header = Message.decode(m.dataHeader);
      if (header.isRecordBatch()) {
        rows += Number(header.header().length);
        if (rows > limit) {
          truncated = true;
          stop.abort();
          break;
        }
      }
    }
  } catch (e) {
    if (!truncated) throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  const table = tableFromIPC(ipcStream(messages));
  return { table: truncated ? table.slice(0, limit) : table, truncated };
}
