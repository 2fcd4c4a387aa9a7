/**
 * Issue 14 item 4: no place claimed from nothing. Frames without content (uniform, near-uniform, too small)
 * are reported as skipped and never localized; stamps outside the sane range are errors (cause `stamp`) and
 * never reach an event.
 */
import assert from "node:assert/strict";
import { from, lastValueFrom, toArray } from "rxjs";
import sharp from "sharp";
import { encodeImage } from "../../src/io/simulator/encode.ts";
import {
  blockContrast,
  checkStamp,
  encodedSize,
  frameContent,
  MAX_STAMP_SECONDS,
} from "../../src/pipeline/frame_checks.ts";
import { localize, type LocalizerOptions } from "../../src/pipeline/localize_pipeline.ts";
import type { CameraFrame, EstimateEvent, PixelImage, RawImage, WaymarkEvent } from "../../src/types.ts";
import { codeFrame, codeMap, fakeModel, syncDecode } from "./_fakes.ts";

function rawFrame(seq: number, width: number, height: number, fill: (i: number) => number): CameraFrame {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  const image: RawImage = {
    kind: "raw",
    width,
    height,
    encoding: "mono8",
    step: width,
    bigEndian: false,
    data,
  };
  return { seq, stamp: seq / 10, frameId: "cam", image };
}

/** 30 frames: 10 black, 10 grey, 10 white, 64 x 48 (the fake model reads place 0, 0 and 63 from them). */
function blankFrames(start = 0): CameraFrame[] {
  return Array.from(
    { length: 30 },
    (_, i) => rawFrame(start + i, 64, 48, () => [0, 128, 255][Math.floor(i / 10)]),
  );
}

async function run(frames: CameraFrame[], extra: Partial<LocalizerOptions> = {}): Promise<WaymarkEvent[]> {
  // The default decoder (decode straight to the model's input size), as in `waymark localize`.
  return await lastValueFrom(
    localize(from(frames), {
      model: fakeModel(),
      map: codeMap(64),
      loops: false,
      backpressure: { kind: "queue", capacity: 1000 },
      ...extra,
    }).events$.pipe(
      toArray(),
    ),
  );
}

const estimates = (events: WaymarkEvent[]) =>
  events.filter((e): e is EstimateEvent => e.kind === "estimate").map((e) => e.estimate);

Deno.test("a fresh localize fed 30 uniform black, grey and white frames never reports a place", async () => {
  // Without the check (the old behaviour) the blank frames are localized: the failure this guards against.
  const unchecked = estimates(await run(blankFrames(), { content: false }));
  assert.ok(unchecked.some((e) => e.status === "localized"), "without the check a blank frame is localized");

  const events = await run(blankFrames());
  const est = estimates(events);
  assert.equal(est.length, 30);
  for (const e of est) {
    assert.equal(e.status, "lost");
    assert.equal(e.placeId, null);
    assert.equal(e.skipped, "uniform");
    assert.equal(e.confidence, 0);
  }
  const stats = events.filter((e) => e.kind === "stats").at(-1);
  assert.ok(stats?.kind === "stats" && stats.skipped === 30 && stats.processed === 30 && stats.errors === 0);
});

Deno.test("near-uniform frames (sensor noise on a blank image) are skipped too", async () => {
  let s = 7;
  const noise = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % 9) - 4; // -4..4 grey levels
  const frames = Array.from({ length: 20 }, (_, i) => rawFrame(i, 320, 240, () => 30 + noise()));
  const est = estimates(await run(frames));
  assert.equal(est.length, 20);
  assert.ok(est.every((e) => e.status === "lost" && e.skipped === "uniform"), JSON.stringify(est[0]));
});

Deno.test("a 2x1 frame (raw or PNG) is too small to localize", async () => {
  const raw = rawFrame(0, 2, 1, (i) => i * 200);
  const png = await encodeImage({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 200]) }, "png");
  const frames: CameraFrame[] = [raw];
  for (let i = 1; i < 10; i++) frames.push({ ...raw, seq: i, stamp: i / 10 });
  for (let i = 10; i < 20; i++) {
    frames.push({
      seq: i,
      stamp: i / 10,
      frameId: "cam",
      image: { kind: "encoded", format: "png", data: png },
    });
  }
  const est = estimates(await run(frames));
  assert.equal(est.length, 20);
  assert.ok(est.every((e) => e.status === "lost" && e.skipped === "too-small"), JSON.stringify(est));
});

Deno.test("after a localized traversal, blank frames are lost (confidence 0) and content brings the estimate back", async () => {
  const frames: CameraFrame[] = [];
  for (let i = 0; i < 20; i++) frames.push(codeFrame(i, 10 + i));
  for (const f of blankFrames(20)) frames.push(f);
  for (let i = 50; i < 60; i++) frames.push(codeFrame(i, i - 20));
  const est = estimates(await run(frames, { decode: syncDecode }));
  assert.equal(est.length, 60);
  assert.equal(est[19].status, "localized");
  assert.ok(est.slice(20, 50).every((e) => e.status === "lost" && e.skipped === "uniform"));
  assert.equal(est[59].status, "localized");
  assert.equal(est[59].placeId, 39);
  assert.equal(est[59].skipped, undefined);
});

Deno.test("SLAM: identical blank frames are never loop closures", async () => {
  // A textured route, then the lens is covered for 40 frames.
  const frames = Array.from({ length: 30 }, (_, i) => codeFrame(i, i * 2));
  for (let i = 30; i < 70; i++) frames.push(rawFrame(i, 64, 48, () => 0));
  // The loop policy of before the content check (no span, no confidence floor): the check alone must stop them.
  const run = (content?: false) =>
    lastValueFrom(
      localize(from(frames), {
        model: fakeModel(),
        loops: { excludeRecent: 5, minSpan: 0 },
        loopGate: { unverifiedMinConfidence: 0 },
        keyframes: {},
        content,
        decode: syncDecode,
        backpressure: { kind: "queue", capacity: 1000 },
      })
        .loops$.pipe(toArray()),
    );
  assert.ok((await run(false)).length > 0, "without the check blank frames close loops");
  assert.equal((await run()).length, 0);
});

Deno.test("stamps that are negative, NaN, infinite or beyond the horizon are errors (cause stamp), never copied", async () => {
  const bad = [-1, -1e300, 1e300, NaN, Infinity, -Infinity, MAX_STAMP_SECONDS * 2];
  const frames: CameraFrame[] = [];
  for (let i = 0; i < 20; i++) frames.push(codeFrame(i, 10 + i));
  bad.forEach((stamp, k) => frames.push({ ...codeFrame(20 + k, 30 + k), stamp }));
  frames.push(codeFrame(40, 31, 4));
  const events = await lastValueFrom(
    localize(from(frames), {
      model: fakeModel(),
      map: codeMap(64),
      loops: true,
      loopGap: 0,
      backpressure: { kind: "queue", capacity: 1000 },
    }).events$.pipe(
      toArray(),
    ),
  );
  const errors = events.filter((e) => e.kind === "error");
  assert.equal(errors.length, bad.length);
  assert.ok(errors.every((e) => e.kind === "error" && e.cause === "stamp" && e.error === "FrameFormatError"));
  assert.match(errors[0].kind === "error" ? errors[0].message : "", /negative/);
  const stats = events.filter((e) => e.kind === "stats").at(-1);
  assert.deepEqual(stats?.kind === "stats" && stats.errorsByCause, { stamp: bad.length });
  // No event carries a bad stamp.
  const ok = (s: number) => Number.isFinite(s) && s >= 0 && s <= MAX_STAMP_SECONDS;
  for (const e of events) {
    if (e.kind === "estimate") assert.ok(ok(e.estimate.stamp), JSON.stringify(e));
    if (e.kind === "loop") assert.ok(ok(e.query.stamp), JSON.stringify(e));
  }
  assert.equal(estimates(events).length, 21);
});

Deno.test("checkStamp accepts [0, MAX_STAMP_SECONDS] and names the problem otherwise", () => {
  checkStamp(0, "f");
  checkStamp(1.7e9, "f");
  checkStamp(MAX_STAMP_SECONDS, "f");
  assert.throws(() => checkStamp(-0.5, "cam"), /cam: frame stamp is negative/);
  assert.throws(() => checkStamp(NaN, "cam"), /NaN/);
  assert.throws(() => checkStamp(Infinity, "cam"), /infinite/);
  assert.throws(() => checkStamp("1", "cam"), /not a number/);
  assert.throws(() => checkStamp(1e300, "cam"), /beyond/);
});

Deno.test("encodedSize reads JPEG, PNG and WebP headers; blockContrast ignores pixel noise but not structure", async () => {
  const px: PixelImage = { width: 37, height: 23, channels: 3, data: new Uint8Array(37 * 23 * 3).fill(90) };
  for (const format of ["jpeg", "png"] as const) {
    assert.deepEqual(encodedSize(await encodeImage(px, format)), { width: 37, height: 23 }, format);
  }
  const raw = { raw: { width: 37, height: 23, channels: 3 as const } };
  for (const lossless of [false, true]) {
    const webp = await sharp(px.data, raw).webp({ lossless }).toBuffer();
    assert.deepEqual(encodedSize(new Uint8Array(webp)), { width: 37, height: 23 }, `webp ${lossless}`);
  }
  assert.equal(encodedSize(new Uint8Array([1, 2, 3])), null);
  assert.equal(blockContrast(px), 0);
  const noisy: PixelImage = { width: 320, height: 240, channels: 1, data: new Uint8Array(320 * 240) };
  for (let i = 0; i < noisy.data.length; i++) noisy.data[i] = 100 + ((i * 7919) % 11) - 5;
  assert.ok(blockContrast(noisy) < 2, `${blockContrast(noisy)}`);
  const edge: PixelImage = { width: 320, height: 240, channels: 1, data: new Uint8Array(320 * 240) };
  for (let i = 0; i < edge.data.length; i++) edge.data[i] = i % 320 < 160 ? 40 : 60;
  assert.ok(blockContrast(edge) > 5);
  const opts = { minSide: 16, minContrast: 2 };
  assert.equal(frameContent(edge, null, opts), null);
  assert.equal(frameContent(edge, { width: 15, height: 400 }, opts), "too-small");
  assert.equal(frameContent(noisy, null, opts), "uniform");
});

Deno.test("blockContrast is the standard deviation of the 16 x 12 block means, for grey and colour frames of any size", () => {
  // The definition written per pixel: pixel (x, y) belongs to block (floor(x * gw / w), floor(y * gh / h)).
  const reference = (p: PixelImage): number => {
    const gw = Math.min(16, p.width), gh = Math.min(12, p.height);
    const sums = new Float64Array(gw * gh), counts = new Float64Array(gw * gh);
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const o = (y * p.width + x) * p.channels;
        const v = p.channels === 1 ? p.data[o] : (p.data[o] + p.data[o + 1] + p.data[o + 2]) / 3;
        const b = Math.floor((y * gh) / p.height) * gw + Math.floor((x * gw) / p.width);
        sums[b] += v;
        counts[b]++;
      }
    }
    const means = Array.from(sums, (s, i) => s / counts[i]);
    const mean = means.reduce((a, b) => a + b, 0) / means.length;
    return Math.sqrt(means.reduce((a, m) => a + (m - mean) ** 2, 0) / means.length);
  };
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (const [width, height, channels] of [[320, 240, 1], [97, 61, 3], [17, 13, 1], [5, 3, 3], [640, 2, 1]]) {
    const data = new Uint8Array(width * height * channels);
    for (let i = 0; i < data.length; i++) data[i] = (next() + ((i / (width * channels)) | 0) * 3) & 255;
    const p: PixelImage = { width, height, channels: channels as 1 | 3, data };
    const got = blockContrast(p), want = reference(p);
    assert.ok(
      Math.abs(got - want) <= 1e-9 * Math.max(1, want),
      `${width}x${height}x${channels}: ${got} vs ${want}`,
    );
  }
});
