/** `localize --foxglove URL`: a Foxglove client sees the camera, estimates and the map scene while it runs. */
import assert from "node:assert/strict";
import * as wsModule from "ws";
import wsProtocol from "@foxglove/ws-protocol";
import { runCliLive, simDataset, simMap } from "./_sim_fixture.ts";

const { FoxgloveClient } = wsProtocol;
// deno-lint-ignore no-explicit-any
const WebSocket = (wsModule as any).WebSocket;

Deno.test("waymark localize --foxglove serves the live view to a Foxglove client", async () => {
  const [ds, map] = [await simDataset(), await simMap()];
  const topics = new Map<string, number>();
  let client: InstanceType<typeof FoxgloveClient> | null = null;
  const r = await runCliLive([
    "localize",
    "--map",
    map,
    "--source",
    `dataset:${ds}#queries`,
    "--rate",
    "10",
    "--foxglove",
    "ws://127.0.0.1:0",
    "--print-hz",
    "0",
  ], (line) => {
    const m = line.match(/Foxglove live view on (ws:\/\/\S+)/);
    if (m && !client) {
      const c = new FoxgloveClient({ ws: new WebSocket(m[1], [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) });
      client = c;
      const subs = new Map<number, string>();
      c.on("advertise", (cs) => cs.forEach((ch) => subs.set(c.subscribe(ch.id), ch.topic)));
      c.on("message", (msg) => {
        const t = subs.get(msg.subscriptionId)!;
        topics.set(t, (topics.get(t) ?? 0) + 1);
      });
    }
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(client, "the live view URL was printed");
  (client as InstanceType<typeof FoxgloveClient>).close();
  // How many frames the client sees depends on when it connects and on frames dropped under load (a busy
  // machine): the test asks that each live topic arrives, not how many of the replay's frames.
  assert.ok((topics.get("/waymark/camera") ?? 0) >= 1, JSON.stringify([...topics]));
  assert.ok((topics.get("/waymark/estimate") ?? 0) >= 1, JSON.stringify([...topics]));
  assert.ok((topics.get("/waymark/scene") ?? 0) >= 1, JSON.stringify([...topics]));
});
