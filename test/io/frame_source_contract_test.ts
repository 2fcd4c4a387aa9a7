import { FakeRosbridge } from "../_fake_rosbridge.ts";
import { FakeWsCamera } from "../_fake_ws_camera.ts";
import { rosbridgeSource } from "../../src/io/rosbridge_source.ts";
import { websocketSource } from "../../src/io/websocket_source.ts";
import { replaySource } from "../../src/io/replay_source.ts";
import { encodeRawFrame } from "../../src/io/raw_frame.ts";
import { frameSourceContract } from "./frame_source_contract.ts";
import { createSimulatorSource } from "../../src/io/simulator_source.ts";

const FAST = { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 };
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 9, 0xff, 0xd9]);
const waitUntil = async (pred: () => boolean) => {
  const t0 = Date.now();
  while (!pred() && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
};

frameSourceContract("websocket", async () => {
  const cam = await FakeWsCamera.start();
  let i = 0;
  return {
    source: websocketSource(cam.url, { backoff: FAST }),
    async produce(n) {
      await waitUntil(() => cam.clientCount > 0);
      for (let k = 0; k < n; k++) {
        cam.send(
          i++ % 2
            ? JPEG
            : encodeRawFrame({ width: 2, height: 2, encoding: "mono8", data: new Uint8Array(4) }),
        );
      }
    },
    injectBad: () => cam.send("{broken"),
    dispose: () => cam.close(),
  };
});

frameSourceContract("rosbridge", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const topic = "/cam/compressed";
  server.images.set(topic, {
    type: "compressed",
    header: { sec: 5, nanosec: 0, frameId: "c" },
    format: "jpeg",
    data: JPEG,
  });
  return {
    source: rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${topic}`, {
      compression: "cbor",
      backoff: FAST,
    }),
    async produce(n) {
      await waitUntil(() => server.subscriptions.length > 0);
      for (let k = 0; k < n; k++) await server.publish();
    },
    injectBad: () => server.sendRaw(JSON.stringify({ op: "nope" })),
    dispose: () => server.close(),
  };
});

frameSourceContract("replay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_contract_" });
  const entries = [];
  for (let i = 0; i < 4; i++) {
    const path = `${dir}/${i}.jpg`;
    await Deno.writeFile(path, JPEG);
    entries.push({ path, stamp: i * 0.01 });
  }
  return {
    source: replaySource(entries, { rate: "recorded" }),
    produce: () => {},
    finite: 4,
    dispose: () => Deno.remove(dir, { recursive: true }),
  };
});

frameSourceContract("simulator", () =>
  Promise.resolve({
    source: createSimulatorSource({ width: 32, height: 24, frames: 4, traversals: 1, rate: 50 }),
    produce: () => {},
    finite: 4,
    dispose: () => Promise.resolve(),
  }));
