/**
 * The Foxglove live view, checked with the protocol's own client: channels and schemas advertised, camera,
 * estimate, loop and scene messages received; token and origin refused; a client that never reads is dropped
 * without holding up the sender.
 */
import assert from "node:assert/strict";
import wsProtocol from "@foxglove/ws-protocol";
import * as wsModule from "ws";
import { Subject } from "rxjs";
import { FoxgloveSink } from "../../src/io/foxglove_sink.ts";
import type { CameraFrame, WaymarkEvent } from "../../src/types.ts";
import { ValidationError } from "../../src/errors.ts";
import { waitFor } from "./_collect.ts";

const { FoxgloveClient } = wsProtocol;
// deno-lint-ignore no-explicit-any
const WebSocket = (wsModule as any).WebSocket;

function connect(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], { headers });
  const client = new FoxgloveClient({ ws });
  const channels: { id: number; topic: string; schemaName: string; schema: string }[] = [];
  const messages: { topic: string; stamp: bigint; json: Record<string, unknown> }[] = [];
  const byId = new Map<number, string>();
  const subs = new Map<number, string>();
  client.on("advertise", (cs) => {
    for (const c of cs) {
      channels.push(c);
      byId.set(c.id, c.topic);
      subs.set(client.subscribe(c.id), c.topic);
    }
  });
  client.on("message", (m) => {
    const text = new TextDecoder().decode(
      new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength),
    );
    messages.push({ topic: subs.get(m.subscriptionId)!, stamp: m.timestamp, json: JSON.parse(text) });
  });
  let closed = false;
  client.on("close", () => (closed = true));
  return { client, ws, channels, messages, isClosed: () => closed };
}

const frame: CameraFrame = {
  seq: 0,
  stamp: 1700000000.1,
  time: { sec: 1700000000, nanosec: 100012346 },
  frameId: "camera",
  image: { kind: "encoded", format: "jpeg", data: new Uint8Array([0xff, 0xd8, 1, 2, 0xff, 0xd9]) },
};

Deno.test("Foxglove live view: channels with schemas, then camera, estimate, loop and scene messages", async () => {
  const places = [0, 1, 2].map((i) => ({ placeId: i, image: `${i}.jpg`, position: { x: i * 10, y: 0 } }));
  const sink = await FoxgloveSink.listen({ port: 0, places });
  const c = connect(sink.url);
  try {
    await waitFor(() => c.channels.length === 4, "4 channels advertised");
    const schemaOf = Object.fromEntries(c.channels.map((ch) => [ch.topic, ch]));
    assert.equal(schemaOf["/waymark/camera"].schemaName, "foxglove.CompressedImage");
    assert.ok(JSON.parse(schemaOf["/waymark/camera"].schema).properties.data);
    assert.equal(schemaOf["/waymark/scene"].schemaName, "foxglove.SceneUpdate");
    assert.equal(schemaOf["/waymark/estimate"].schemaName, "waymark.Estimate");
    await new Promise((r) => setTimeout(r, 100)); // the subscriptions reach the server
    const events$ = new Subject<WaymarkEvent>(), frames$ = new Subject<CameraFrame>();
    const sub = sink.attach(events$, frames$);
    frames$.next(frame);
    events$.next({
      kind: "estimate",
      estimate: {
        seq: 0,
        stamp: frame.stamp,
        placeId: 1,
        position: { x: 10, y: 0 },
        confidence: 0.9,
        status: "localized",
      },
      hypotheses: [],
      latencyMs: 3,
    });
    events$.next({
      kind: "loop",
      query: { seq: 0, stamp: frame.stamp },
      match: { placeId: 0 },
      stamps: [frame.stamp, 0],
      score: 0.8,
      confidence: 0.7,
    });
    await waitFor(() => new Set(c.messages.map((m) => m.topic)).size === 4, "messages on the 4 channels")
      .catch((e) => {
        throw new Error(`${e.message}: got ${JSON.stringify(c.messages.map((m) => m.topic))}`);
      });
    const cam = c.messages.find((m) => m.topic === "/waymark/camera")!;
    assert.equal(cam.stamp, 1700000000_100012346n);
    assert.deepEqual(cam.json.timestamp, { sec: 1700000000, nsec: 100012346 });
    assert.equal(cam.json.format, "jpeg");
    assert.equal(cam.json.data, "/9gBAv/Z");
    const est = c.messages.find((m) => m.topic === "/waymark/estimate")!;
    assert.equal(est.json.placeId, 1);
    const scene = c.messages.find((m) => m.topic === "/waymark/scene")!.json as {
      entities: { spheres: unknown[]; lines: unknown[] }[];
    };
    assert.equal(scene.entities[0].spheres.length, 4, "3 places and the estimate");
    assert.equal(c.messages.find((m) => m.topic === "/waymark/loop")!.json.kind, "loop");
    sub.unsubscribe();
  } finally {
    c.client.close();
    await sink.close();
  }
});

Deno.test("Foxglove live view: a token off loopback, 401 without it, a refused web origin", async () => {
  await assert.rejects(FoxgloveSink.listen({ host: "0.0.0.0", port: 0 }), ValidationError);
  const sink = await FoxgloveSink.listen({ port: 0, token: "s3cret" });
  try {
    const bad = connect(sink.url);
    await waitFor(() => bad.isClosed(), "the unauthenticated client refused");
    const web = connect(`${sink.url}?token=s3cret`, { Origin: "http://evil.example" });
    await waitFor(() => web.isClosed(), "the web page refused");
    const good = connect(sink.url, { Authorization: "Bearer s3cret" });
    await waitFor(() => good.channels.length === 4, "channels for the authenticated client");
    good.client.close();
    assert.ok(sink.stats.refused >= 2);
  } finally {
    await sink.close();
  }
});

Deno.test("Foxglove live view: a client that does not read is disconnected, one that reads is kept", async () => {
  const sink = await FoxgloveSink.listen({ port: 0, dropBytes: 1024 * 1024 });
  const slow = connect(sink.url), fast = connect(sink.url);
  try {
    await waitFor(() => slow.channels.length === 4 && fast.channels.length === 4, "channels");
    await new Promise((r) => setTimeout(r, 100));
    // The slow client stops reading its socket: the server's send buffer for it grows.
    (slow.ws as { _socket?: { pause(): void } })._socket!.pause();
    const big = { ...frame, image: { ...frame.image, data: new Uint8Array(150_000).fill(7) } } as CameraFrame;
    for (let i = 0; i < 300 && sink.stats.dropped === 0; i++) {
      sink.frame(big); // returns at once: it only queues in the sockets
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(sink.stats.dropped, 1);
    const got = fast.messages.length;
    sink.frame(frame);
    await waitFor(() => fast.messages.length > got, "the reading client still served");
    assert.ok(!fast.isClosed());
  } finally {
    fast.client.close();
    await sink.close();
  }
});
