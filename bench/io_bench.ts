/**
 * Frame-source and sink benchmarks: CBOR and base64 decoding of a 640x480-JPEG-sized payload, the rosbridge
 * message decode per compression mode, and end-to-end loopback throughput and latency of the rosbridge source
 * (fake server in-process, so the number includes both ends on the same CPU).
 *
 * Run alone: `deno run -A bench/io_bench.ts`.
 * @module
 */
import type { BenchResult } from "./_types.ts";
import { summarize } from "./_stats.ts";
import { decodeCbor, encodeCbor } from "../src/io/cbor.ts";
import { decodeBase64, encodeBase64 } from "../src/io/base64.ts";
import { decodeRosImageBytes, decodeRosImageMessage } from "../src/io/ros_messages.ts";
import { parseRosbridgeText } from "../src/io/rosbridge_protocol.ts";
import { serializeRosImage } from "../src/io/ros_serialization.ts";
import { rosbridgeSource } from "../src/io/rosbridge_source.ts";
import { FakeRosbridge } from "../test/_fake_rosbridge.ts";

const JPEG_BYTES = 60_000; // a typical 640x480 JPEG at quality ~85

function payload(): Uint8Array {
  const b = new Uint8Array(JPEG_BYTES);
  let x = 12345;
  for (let i = 0; i < b.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

function timeIt(fn: () => void, minMs = 300): number {
  for (let i = 0; i < 5; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

/** Run the I/O benchmarks. */
export async function bench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const data = payload();
  const header = { seq: 1, stamp: { secs: 1700000000, nsecs: 5 }, frame_id: "cam" };
  const mb = JPEG_BYTES / 1e6;

  const cbor = encodeCbor({ op: "publish", topic: "/cam/compressed", msg: { header, format: "jpeg", data } });
  const tCbor = timeIt(() => decodeRosImageMessage((decodeCbor(cbor) as { msg: unknown }).msg));
  out.push({
    name: "io/decode/cbor_publish_60KB",
    value: tCbor * 1000,
    unit: "us",
    note: `${(mb / tCbor * 1000).toFixed(0)} MB/s`,
  });

  const json = JSON.stringify({
    op: "publish",
    topic: "/cam/compressed",
    msg: { header, format: "jpeg", data: encodeBase64(data) },
  })
    .replaceAll("/", "\\/");
  const tJson = timeIt(() => decodeRosImageMessage(parseRosbridgeText(json).msg));
  out.push({
    name: "io/decode/json_publish_60KB",
    value: tJson * 1000,
    unit: "us",
    note: "JSON.parse + strict base64",
  });

  const b64 = encodeBase64(data);
  const tB64 = timeIt(() => decodeBase64(b64));
  out.push({ name: "io/decode/base64_60KB", value: (mb / tB64) * 1000, unit: "MB/s" });

  const raw = serializeRosImage({
    type: "compressed",
    header: { seq: 1, sec: 1, nanosec: 2, frameId: "cam" },
    format: "jpeg",
    data,
  });
  const rawCbor = encodeCbor({
    op: "publish",
    topic: "/cam/compressed",
    msg: { secs: 1, nsecs: 2, bytes: raw },
  });
  const tRaw = timeIt(() =>
    decodeRosImageBytes(
      (decodeCbor(rawCbor) as { msg: { bytes: Uint8Array } }).msg.bytes,
      "sensor_msgs/CompressedImage",
    )
  );
  out.push({ name: "io/decode/cbor_raw_publish_60KB", value: tRaw * 1000, unit: "us" });

  // End to end over loopback: publish -> frame delivered, for each compression mode.
  for (const compression of ["none", "cbor", "cbor-raw"] as const) {
    const server = await FakeRosbridge.start({ publishOnSubscribe: false });
    const topic = "/cam/compressed";
    server.images.set(topic, {
      type: "compressed",
      header: { sec: 1, nanosec: 0, frameId: "cam" },
      format: "jpeg",
      data,
    });
    const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${topic}`, {
      compression,
      backoff: { jitter: 0 },
    });
    const lat: number[] = [];
    let resolveNext: (() => void) | null = null;
    const sub = src.frames().subscribe(() => resolveNext?.());
    await server.waitFor(() => server.subscriptions.length === 1, 5000, "subscribe");
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const got = new Promise<void>((r) => (resolveNext = r));
      await server.publish();
      await got;
      lat.push(performance.now() - t);
    }
    const total = performance.now() - t0;
    sub.unsubscribe();
    await src.close();
    await server.close();
    const s = summarize(lat);
    out.push({
      name: `io/rosbridge_loopback/${compression}/latency_p99`,
      value: s.p99,
      unit: "ms",
      note: `p50 ${s.p50.toFixed(2)} ms, ${
        (n / total * 1000).toFixed(0)
      } frames/s one at a time, 60 KB JPEG, server and client on one CPU`,
    });
  }
  out.push(await soak(data));
  return out;
}

/** Resident memory growth while 3000 frames of 60 KB stream through a rosbridge source (after 500 warm-up). */
async function soak(data: Uint8Array): Promise<BenchResult> {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const topic = "/cam/compressed";
  server.images.set(topic, {
    type: "compressed",
    header: { sec: 1, nanosec: 0, frameId: "cam" },
    format: "jpeg",
    data,
  });
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${topic}`, { compression: "cbor" });
  let got = 0;
  const sub = src.frames().subscribe(() => got++);
  await server.waitFor(() => server.subscriptions.length === 1, 5000, "subscribe");
  const gc = (globalThis as { gc?: () => void }).gc;
  const mem = () => {
    gc?.();
    return gc ? Deno.memoryUsage().heapUsed : Deno.memoryUsage().rss;
  };
  let rss0 = 0;
  for (let i = 0; i < 3500; i++) {
    if (i === 500) rss0 = mem();
    await server.publish();
    if (i % 50 === 0) await server.waitFor(() => got >= i, 5000, "frames");
  }
  await server.waitFor(() => got >= 3500, 5000, "frames");
  const growth = (mem() - rss0) / 1e6;
  sub.unsubscribe();
  await src.close();
  await server.close();
  return {
    name: "io/rosbridge_soak/memory_growth_3000_frames",
    value: growth,
    unit: "MB",
    note: gc
      ? "V8 heap after forced GC; cbor, 60 KB frames, after 500 warm-up frames"
      : "resident set, no GC forced (run with --v8-flags=--expose-gc for the heap); cbor, 60 KB frames, after 500 warm-up",
  };
}

if (import.meta.main) {
  for (const r of await bench()) {
    console.log(`${r.name}\t${r.value.toFixed(2)} ${r.unit}${r.note ? `\t(${r.note})` : ""}`);
  }
}
