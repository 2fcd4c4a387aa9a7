/**
 * The worker behind `SyncPgConnection` (`_pg_sync.ts`): it owns one `PgConnection` (PGlite or node-postgres)
 * and answers each request through a `SharedArrayBuffer`, in chunks, while the caller's thread blocks on
 * `Atomics.wait`. Protocol: control word 0 is the state (0 = waiting for the answer, 1 = a chunk is ready and
 * more follow, 2 = the last chunk is ready), word 1 the chunk's byte length; bytes follow the 8-byte header.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { type IndexTarget, openConnection, type PgConnection, type PgQueryable } from "./pg_connection.ts";

interface Request {
  op: "query" | "transaction" | "close";
  statements: { sql: string; params?: unknown[]; copy?: Uint8Array }[];
}

let conn: PgConnection | null = null;
let ctrl: Int32Array;
let data: Uint8Array;

function reply(value: unknown): void {
  const bytes = new TextEncoder().encode(
    JSON.stringify(value, (_k, v) => typeof v === "bigint" ? Number(v) : v),
  );
  const room = data.length;
  let off = 0;
  do {
    const n = Math.min(room, bytes.length - off);
    data.set(bytes.subarray(off, off + n));
    off += n;
    const state = off >= bytes.length ? 2 : 1;
    Atomics.store(ctrl, 1, n);
    Atomics.store(ctrl, 0, state);
    Atomics.notify(ctrl, 0);
    if (state === 1) Atomics.wait(ctrl, 0, 1);
  } while (off < bytes.length);
}

async function run(q: PgQueryable, s: Request["statements"][number]): Promise<unknown[]> {
  if (s.copy === undefined) return (await q.query(s.sql, s.params)).rows;
  if (q.copyFrom === undefined) throw new Error("this connection cannot COPY");
  await q.copyFrom(s.sql, s.copy);
  return [];
}

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data as { init?: { target: IndexTarget; sab: SharedArrayBuffer } } & Partial<Request>;
  if (msg.init) {
    ctrl = new Int32Array(msg.init.sab, 0, 2);
    data = new Uint8Array(msg.init.sab, 8);
    try {
      conn = await openConnection(msg.init.target);
      self.postMessage({ ready: true });
    } catch (err) {
      self.postMessage({ error: (err as Error).message });
    }
    return;
  }
  try {
    if (msg.op === "close") {
      await conn?.close();
      conn = null;
      reply({ rows: [] });
      return;
    }
    if (conn === null) throw new Error("the connection is closed");
    const statements = msg.statements ?? [];
    let rows: unknown[] = [];
    if (msg.op === "transaction") {
      await conn.transaction(async (tx) => {
        for (const s of statements) rows = await run(tx, s);
      });
    } else {
      for (const s of statements) rows = await run(conn, s);
    }
    reply({ rows });
  } catch (err) {
    const e = err as Error & { code?: string };
    reply({ error: { message: e.message, code: e.code } });
  }
};
