/**
 * `SyncPgConnection`: blocking calls to a `PgConnection` that lives in a worker (`_pg_worker.ts`), so that a
 * synchronous interface (`VectorIndex.add/search`) can be served by Postgres. The calling thread waits on
 * `Atomics.wait` until the worker has written the answer into a shared buffer; answers larger than the buffer
 * come in chunks. A call that gets no answer within `timeoutMs` is an `IndexError`, and the connection is then
 * closed (a late answer could otherwise be read as the answer to the next call).
 *
 * This blocks its thread for the whole round trip: use it where blocking is the point (the `VectorIndex`
 * contract, batch jobs); the live path of a robot uses `FleetMap`, whose local cache never waits.
 *
 * @module
 */

import { IndexError } from "../errors.ts";
import type { IndexTarget } from "./pg_connection.ts";

/** One statement. */
export interface Statement {
  sql: string;
  params?: unknown[];
  /** Bytes for a `COPY ... FROM '/dev/blob'` statement (only where `supportsCopy`). */
  copy?: Uint8Array;
}

/** Options of `SyncPgConnection.open`. */
export interface SyncPgOptions {
  /** Longest wait for one answer, in ms. Default 60,000. */
  timeoutMs?: number;
  /** Bytes of the shared answer buffer (larger answers come in chunks). Default 4 MiB. */
  bufferBytes?: number;
}

/** A blocking connection (see the module documentation). */
export class SyncPgConnection {
  private worker: Worker | null;
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;

  private constructor(
    worker: Worker,
    sab: SharedArrayBuffer,
    readonly target: IndexTarget,
    private readonly timeoutMs: number,
  ) {
    this.worker = worker;
    this.ctrl = new Int32Array(sab, 0, 2);
    this.data = new Uint8Array(sab, 8);
  }

  /** Start the worker and open `target` in it. */
  static async open(target: IndexTarget, options: SyncPgOptions = {}): Promise<SyncPgConnection> {
    const sab = new SharedArrayBuffer(8 + (options.bufferBytes ?? 4 << 20));
    const worker = new Worker(new URL("./_pg_worker.ts", import.meta.url).href, { type: "module" });
    const answer = await new Promise<{ ready?: boolean; error?: string }>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        resolve({ error: e.message });
      };
      worker.postMessage({ init: { target, sab } });
    });
    worker.onmessage = null;
    if (!answer.ready) {
      worker.terminate();
      throw new IndexError(`Cannot open ${describe(target)}: ${answer.error}`);
    }
    return new SyncPgConnection(worker, sab, target, options.timeoutMs ?? 60_000);
  }

  /** True when statements may carry `copy` bytes (PGlite). */
  get supportsCopy(): boolean {
    return this.target.kind === "pglite";
  }

  /** True until `close`, or a timed-out call. */
  get open(): boolean {
    return this.worker !== null;
  }

  /** Run statements one after the other; the rows of the last. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): T[] {
    return this.call("query", [{ sql, params }]) as T[];
  }

  /** Run statements in one transaction (rolled back if one fails); the rows of the last. */
  transaction<T = Record<string, unknown>>(statements: Statement[]): T[] {
    return this.call("transaction", statements) as T[];
  }

  /** Close the connection and stop the worker. Idempotent. */
  close(): void {
    if (this.worker === null) return;
    try {
      this.call("close", []);
    } catch { /* the worker goes anyway */ }
    this.worker?.terminate();
    this.worker = null;
  }

  private call(op: string, statements: Statement[]): unknown[] {
    const worker = this.worker;
    if (worker === null) {
      throw new IndexError(`Cannot query ${describe(this.target)}: the connection is closed`);
    }
    const { ctrl, data } = this;
    Atomics.store(ctrl, 0, 0);
    worker.postMessage({ op, statements });
    const parts: Uint8Array[] = [];
    for (;;) {
      if (Atomics.wait(ctrl, 0, 0, this.timeoutMs) === "timed-out") {
        worker.terminate();
        this.worker = null;
        throw new IndexError(
          `Cannot query ${describe(this.target)}: no answer within ${this.timeoutMs} ms (connection closed)`,
        );
      }
      const state = Atomics.load(ctrl, 0);
      parts.push(data.slice(0, Atomics.load(ctrl, 1)));
      if (state === 2) break;
      Atomics.store(ctrl, 0, 0);
      Atomics.notify(ctrl, 0);
    }
    const bytes = parts.length === 1 ? parts[0] : concat(parts);
    const answer = JSON.parse(new TextDecoder().decode(bytes)) as {
      rows?: unknown[];
      error?: { message: string; code?: string };
    };
    if (answer.error) {
      throw new IndexError(`Query on ${describe(this.target)} failed: ${answer.error.message}`, {
        context: { code: answer.error.code },
      });
    }
    return answer.rows ?? [];
  }
}

function describe(t: IndexTarget): string {
  return t.kind === "pglite" ? `PGlite '${t.dataDir ?? "memory"}'` : `Postgres '${t.url}'`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
