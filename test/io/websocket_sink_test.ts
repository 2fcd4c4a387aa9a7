import assert from "node:assert/strict";
import { Subject } from "rxjs";
import { parsePublishUrl, WebSocketSink } from "../../src/io/websocket_sink.ts";
import { openWebSocket, wsPayload, type WsSocket } from "../../src/io/_ws.ts";
import type { EstimateEvent, LoopClosureEvent, StatsEvent, WaymarkEvent } from "../../src/types.ts";
import { ValidationError } from "../../src/errors.ts";
import { waitFor } from "./_collect.ts";

interface TestClient {
  ws: WsSocket;
  messages: WaymarkEvent[];
  status?: number;
  closed: Promise<void>;
  open: Promise<boolean>;
}

function connect(url: string, headers?: Record<string, string>): TestClient {
  const ws = openWebSocket(url, { headers });
  const c = { ws, messages: [] as WaymarkEvent[] } as TestClient;
  c.closed = new Promise((r) => ws.once("close", () => r()));
  c.open = new Promise((resolve) => {
    ws.on("open", () => resolve(true));
    ws.on("error", (e) => {
      const m = /Unexpected server response: (\d+)/.exec(e.message);
      if (m) c.status = Number(m[1]);
      resolve(false);
    });
  });
  ws.on("message", (d, bin) => c.messages.push(JSON.parse(wsPayload(d, bin) as string)));
  return c;
}

const estimate = (seq: number, pad = 0): EstimateEvent => ({
  kind: "estimate",
  estimate: { stamp: seq, seq, placeId: seq % 7, confidence: 0.9, status: "localized" },
  hypotheses: pad ? [{ placeId: 1, similarity: 0.5, rank: 0, inliers: pad, position: { x: 0, y: 0 } }] : [],
  latencyMs: 1,
});
const stats = (n: number): StatsEvent => ({
  kind: "stats",
  stamp: n,
  received: n,
  processed: n,
  dropped: 0,
  errors: 0,
});
const loop = (q: number): LoopClosureEvent => ({
  kind: "loop",
  query: { seq: q, stamp: q },
  match: { placeId: 1 },
  stamps: [q, 1],
  score: 0.9,
  confidence: 0.95,
});

Deno.test("WebSocketSink binds 127.0.0.1 on an ephemeral port and broadcasts JSON events to every client", async () => {
  const sink = await WebSocketSink.listen({ port: 0 });
  const events = new Subject<WaymarkEvent>();
  const sub = sink.attach(events);
  const a = connect(sink.url);
  const b = connect(sink.url);
  try {
    assert.match(sink.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(sink.port > 0);
    assert.ok(await a.open && await b.open);
    await waitFor(() => sink.stats.clients === 2, "two clients");
    events.next(estimate(1));
    events.next(loop(2));
    await waitFor(() => a.messages.length === 2 && b.messages.length === 2, "messages");
    assert.deepEqual(a.messages, [estimate(1), loop(2)]);
    assert.deepEqual(b.messages, a.messages);
    assert.equal(sink.stats.sent, 4);
  } finally {
    sub.unsubscribe();
    await sink.close();
    await a.closed;
    await b.closed;
  }
});

Deno.test("WebSocketSink with a token rejects missing or wrong tokens with 401 and accepts header or ?token=", async () => {
  const sink = await WebSocketSink.listen({ port: 0, token: "t0k3n" });
  const none = connect(sink.url);
  const wrong = connect(sink.url, { Authorization: "Bearer nope" });
  const header = connect(sink.url, { Authorization: "Bearer t0k3n" });
  const query = connect(`${sink.url}/?token=t0k3n`);
  try {
    assert.equal(await none.open, false);
    assert.equal(none.status, 401);
    assert.equal(await wrong.open, false);
    assert.equal(wrong.status, 401);
    assert.equal(await header.open, true);
    assert.equal(await query.open, true);
    assert.equal(sink.stats.rejected, 2);
    await waitFor(() => sink.stats.clients === 2, "two clients");
    sink.send(stats(1));
    await waitFor(() => header.messages.length === 1 && query.messages.length === 1, "messages");
  } finally {
    await sink.close();
    await Promise.all([none.closed, wrong.closed, header.closed, query.closed]);
  }
});

Deno.test("WebSocketSink conflates a slow client to the latest event of each kind, keeps loops, never blocks", async () => {
  const sink = await WebSocketSink.listen({
    port: 0,
    highWaterBytes: 64 * 1024,
    dropBytes: 512 * 1024 * 1024,
  });
  const slow = connect(sink.url);
  try {
    assert.ok(await slow.open);
    await waitFor(() => sink.stats.clients === 1, "the client");
    // The slow client stops reading: its socket's buffers fill and bufferedAmount grows on the server.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const t0 = performance.now();
    let worst = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      sink.send(estimate(i, 1));
      sink.send(stats(i));
      if (i % 500 === 0) sink.send(loop(i));
      // pad the stream with big events so that the kernel buffers fill quickly
      sink.send({
        ...estimate(i),
        hypotheses: new Array(300).fill(
          estimate(i).hypotheses[0] ?? { placeId: 1, similarity: 0.5, rank: 0 },
        ),
      });
      worst = Math.max(worst, performance.now() - t);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1)); // let the socket flush what it can
    }
    const elapsed = performance.now() - t0;
    assert.ok(sink.stats.conflated > 0, `conflated ${sink.stats.conflated}`);
    assert.ok(worst < 1000, `one send() took ${worst.toFixed(1)} ms`);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(
      () => {
        const last = slow.messages.at(-1);
        return last?.kind === "estimate" && last.estimate.seq === n - 1;
      },
      "the latest estimate",
      20000,
    );
    await waitFor(
      () => slow.messages.some((m) => m.kind === "stats" && m.stamp === n - 1),
      "the latest stats",
      5000,
    );
    const loops = slow.messages.filter((m) => m.kind === "loop").map((m) =>
      (m as LoopClosureEvent).query.seq
    );
    assert.deepEqual(loops, [0, 500, 1000, 1500], "every loop event arrives, in order");
    assert.ok(slow.messages.length < n * 3, `received ${slow.messages.length} of ${n * 3 + 4} (conflated)`);
    const estimates = slow.messages.filter((m) => m.kind === "estimate").map((m) =>
      (m as EstimateEvent).estimate.seq
    );
    for (let i = 1; i < estimates.length; i++) assert.ok(estimates[i] >= estimates[i - 1], "order is kept");
    console.log(
      `slow client: ${slow.messages.length} messages received of ${n * 3 + 4} sent, ` +
        `${sink.stats.conflated} conflated, ${elapsed.toFixed(0)} ms to send, worst send() ${
          worst.toFixed(2)
        } ms`,
    );
  } finally {
    await sink.close();
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.closed;
  }
});

Deno.test("WebSocketSink disconnects a client that stays slow too long, and skips oversized events", async () => {
  const sink = await WebSocketSink.listen({
    port: 0,
    highWaterBytes: 1024,
    slowClientTimeoutMs: 100,
    maxMessageBytes: 200_000,
  });
  const slow = connect(sink.url);
  try {
    assert.ok(await slow.open);
    await waitFor(() => sink.stats.clients === 1, "the client");
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = {
      ...estimate(0),
      hypotheses: new Array(1000).fill({ placeId: 1, similarity: 0.5, rank: 0 }),
    };
    const t0 = performance.now();
    for (let i = 0; i < 100000 && sink.stats.droppedClients === 0; i++) {
      sink.send({ ...big, latencyMs: i });
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor(() => sink.stats.droppedClients === 1, "the drop");
    assert.ok(performance.now() - t0 >= 100, "not before slowClientTimeoutMs");
    assert.equal(sink.stats.clients, 0);
    sink.send({
      ...estimate(1),
      hypotheses: new Array(10000).fill({ placeId: 1, similarity: 0.5, rank: 0 }),
    });
    assert.equal(sink.stats.skipped, 0, "no client: nothing serialised");
    const other = connect(sink.url);
    assert.ok(await other.open);
    await waitFor(() => sink.stats.clients === 1, "a new client");
    sink.send({
      ...estimate(1),
      hypotheses: new Array(10000).fill({ placeId: 1, similarity: 0.5, rank: 0 }),
    });
    assert.equal(sink.stats.skipped, 1);
    await sink.close();
    await other.closed;
  } finally {
    await sink.close();
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    slow.ws.terminate();
    await slow.closed;
  }
});

Deno.test("WebSocketSink.listen() validates options and reports a taken port", async () => {
  await assert.rejects(WebSocketSink.listen({ port: -1 }), ValidationError);
  await assert.rejects(WebSocketSink.listen({ port: 0, token: "" }), ValidationError);
  await assert.rejects(WebSocketSink.listen({ port: 0, highWaterBytes: 10, dropBytes: 5 }), ValidationError);
  const a = await WebSocketSink.listen({ port: 0 });
  try {
    await assert.rejects(WebSocketSink.listen({ port: a.port }), /EADDRINUSE|in use/i);
  } finally {
    await a.close();
  }
});

Deno.test("parsePublishUrl() reads host and port of a ws:// URL, 8765 by default", () => {
  assert.deepEqual(parsePublishUrl("ws://127.0.0.1:9000"), { host: "127.0.0.1", port: 9000 });
  assert.deepEqual(parsePublishUrl("ws://0.0.0.0"), { host: "0.0.0.0", port: 8765 });
  assert.deepEqual(parsePublishUrl("ws://[::1]:1234"), { host: "::1", port: 1234 });
  assert.throws(() => parsePublishUrl("wss://h:1"), ValidationError);
  assert.throws(() => parsePublishUrl("nope"), ValidationError);
});
