/**
 * A picture of the Foxglove live view's scene for the README: a simulated loop (two traversals, positions) is
 * exported, a map of its first traversal built, and `waymark localize --foxglove` run over the second while a
 * Foxglove protocol client (`@foxglove/ws-protocol`, as the Foxglove app connects) records what it is sent. The
 * last `/waymark/scene` (`foxglove.SceneUpdate`: places, current estimate, loop edges) is drawn as SVG, top
 * view, beside the last `/waymark/camera` JPEG, and written as PNG with sharp.
 *
 *   deno run -A scripts/foxglove_scene_picture.ts [--out docs/foxglove_scene.png]
 *
 * Everything else is written in a temporary folder that is removed at the end.
 * @module
 */
import { parseArgs } from "node:util";
import * as wsModule from "ws";
import wsProtocol from "@foxglove/ws-protocol";
import sharp from "sharp";
import { main } from "../src/cli/main.ts";
import { exportSimDataset } from "../src/io/simulator/export.ts";
import { decodeBase64 } from "../src/io/base64.ts";

const { FoxgloveClient } = wsProtocol;
// deno-lint-ignore no-explicit-any
const WebSocket = (wsModule as any).WebSocket;
const GENERIC = new URL("../models/waymark-generic", import.meta.url).pathname;

interface Vec3 {
  x: number;
  y: number;
  z: number;
}
interface Sphere {
  pose: { position: Vec3 };
  size: Vec3;
  color: { r: number; g: number; b: number; a: number };
}
interface Line {
  points: Vec3[];
  color: { r: number; g: number; b: number; a: number };
}
interface Scene {
  entities: { spheres: Sphere[]; lines: Line[] }[];
}
interface Captured {
  scene: Scene | null;
  scenes: number;
  /** The camera frame last received before the last scene (the frame that scene's estimate belongs to). */
  camera: { data: Uint8Array; format: string } | null;
  /** Positions of the estimates received up to the last scene. */
  track: Vec3[];
  cameras: number;
  estimates: number;
  loops: number;
}

/** Run the CLI in-process; `onStderr` sees each stderr line as it is printed. */
async function runCli(argv: string[], onStderr: (line: string) => void = () => {}): Promise<number> {
  const { log, error, warn } = console;
  console.log = () => {};
  console.error = console.warn = (...a: unknown[]) => onStderr(a.join(" "));
  try {
    return await main(argv);
  } finally {
    Object.assign(console, { log, error, warn });
  }
}

/** Localize over the dataset's queries with the live view on, recording what a Foxglove client receives. */
async function capture(ds: string, map: string): Promise<Captured> {
  const got: Captured = {
    scene: null,
    scenes: 0,
    camera: null,
    track: [],
    cameras: 0,
    estimates: 0,
    loops: 0,
  };
  let camera: Captured["camera"] = null;
  const track: Vec3[] = [];
  let client: InstanceType<typeof FoxgloveClient> | null = null;
  const text = new TextDecoder();
  const code = await runCli([
    "localize",
    "--map",
    map,
    "--source",
    `dataset:${ds}#queries`,
    "--rate",
    "8",
    "--foxglove",
    "ws://127.0.0.1:0",
    "--print-hz",
    "0",
  ], (line) => {
    const m = line.match(/Foxglove live view on (ws:\/\/\S+)/);
    if (!m || client) return;
    const c = new FoxgloveClient({ ws: new WebSocket(m[1], [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) });
    client = c;
    const subs = new Map<number, string>();
    c.on("advertise", (cs) => cs.forEach((ch) => subs.set(c.subscribe(ch.id), ch.topic)));
    c.on("message", (msg) => {
      const topic = subs.get(msg.subscriptionId);
      const json = () =>
        JSON.parse(text.decode(new Uint8Array(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength)));
      if (topic === "/waymark/scene") {
        got.scene = json();
        got.scenes++;
        got.camera = camera;
        got.track = [...track];
      } else if (topic === "/waymark/camera") {
        const im = json();
        camera = { data: decodeBase64(im.data), format: im.format };
        got.cameras++;
      } else if (topic === "/waymark/estimate") {
        const e = json();
        if (e.position) track.push({ x: e.position.x, y: e.position.y, z: e.position.z ?? 0 });
        got.estimates++;
      } else if (topic === "/waymark/loop") got.loops++;
    });
  });
  (client as InstanceType<typeof FoxgloveClient> | null)?.close();
  if (code !== 0) throw new Error(`waymark localize exited with ${code}`);
  return got;
}

const rgb = (c: { r: number; g: number; b: number }) =>
  `rgb(${Math.round(c.r * 255)},${Math.round(c.g * 255)},${Math.round(c.b * 255)})`;

/** The scene from above (x right, y up) as SVG, fitted in `w` x `h` with a caption. */
function sceneSvg(scene: Scene, got: Captured, w: number, h: number): string {
  const spheres = scene.entities.flatMap((e) => e.spheres);
  const lines = scene.entities.flatMap((e) => e.lines);
  const pts = [...spheres.map((s) => s.pose.position), ...lines.flatMap((l) => l.points), ...got.track];
  const [x0, x1] = [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))];
  const [y0, y1] = [Math.min(...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y))];
  const pad = 30, top = 80;
  const s = Math.min((w - 2 * pad) / Math.max(x1 - x0, 1e-6), (h - top - pad) / Math.max(y1 - y0, 1e-6));
  const X = (x: number) => pad + (x - x0) * s + ((w - 2 * pad) - (x1 - x0) * s) / 2;
  const Y = (y: number) => h - pad - (y - y0) * s - ((h - top - pad) - (y1 - y0) * s) / 2;
  const body = [
    // The estimates received so far (from /waymark/estimate; the scene itself holds only the current one).
    `<polyline points="${got.track.map((p) => `${X(p.x)},${Y(p.y)}`).join(" ")}" fill="none" ` +
    `stroke="rgb(26,204,51)" stroke-width="2" stroke-dasharray="5,4" opacity="0.7"/>`,
    ...lines.map((l) =>
      `<line x1="${X(l.points[0].x)}" y1="${Y(l.points[0].y)}" x2="${X(l.points[1].x)}" y2="${
        Y(l.points[1].y)
      }" stroke="${rgb(l.color)}" stroke-width="3" opacity="0.8"/>`
    ),
    // Places first, the (larger) estimate on top.
    ...[...spheres].sort((a, b) => a.size.x - b.size.x).map((sp) =>
      `<circle cx="${X(sp.pose.position.x)}" cy="${Y(sp.pose.position.y)}" r="${
        Math.max(3, (sp.size.x / 2) * s)
      }" fill="${rgb(sp.color)}" stroke="#333" stroke-width="1"/>`
    ),
  ];
  const places = spheres.filter((sp) => sp.size.x < 1).length;
  const caption = `/waymark/scene (foxglove.SceneUpdate), top view: ${places} map places (grey),`;
  const caption2 =
    `current estimate (green disc), ${lines.length} loop edges (orange); dashed: earlier estimates`;
  const stats =
    `client received ${got.scenes} scenes, ${got.cameras} camera frames, ${got.estimates} estimates, ` +
    `${got.loops} loop events`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="22" font-family="sans-serif" font-size="15">${caption}</text>
<text x="12" y="42" font-family="sans-serif" font-size="15">${caption2}</text>
<text x="12" y="62" font-family="sans-serif" font-size="13" fill="#555">${stats}</text>
${body.join("\n")}
</svg>`;
}

async function render(got: Captured, out: string): Promise<void> {
  if (!got.scene || !got.camera) {
    throw new Error(`the client received no ${got.scene ? "camera frame" : "scene"}`);
  }
  const W = 640, H = 480, CAM_W = 480;
  const scene = await sharp(new TextEncoder().encode(sceneSvg(got.scene, got, W, H))).png().toBuffer();
  const cam = await sharp(got.camera.data).resize(CAM_W, undefined).png().toBuffer({
    resolveWithObject: true,
  });
  const label = await sharp(new TextEncoder().encode(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CAM_W}" height="50">
<rect width="100%" height="100%" fill="white"/>
<text x="4" y="22" font-family="sans-serif" font-size="15">/waymark/camera (foxglove.CompressedImage, ${got.camera.format})</text>
<text x="4" y="42" font-family="sans-serif" font-size="13" fill="#555">the frame of that scene's estimate</text>
</svg>`,
  )).png().toBuffer();
  await sharp({ create: { width: W + CAM_W + 20, height: H, channels: 3, background: "#ffffff" } })
    .composite([
      { input: scene, left: 0, top: 0 },
      { input: label, left: W + 10, top: 10 },
      { input: cam.data, left: W + 10, top: 60 },
    ])
    .png()
    .toFile(out);
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" } } });
  const out = values.out ?? "docs/foxglove_scene.png";
  const tmp = await Deno.makeTempDir({ prefix: "waymark_foxglove_picture_" });
  try {
    const ds = `${tmp}/ds`;
    await exportSimDataset(ds, {
      width: 320,
      height: 240,
      frames: 40,
      traversals: 2,
      seed: 3,
      condition: "lighting",
      strength: 0.5,
    });
    const map = `${tmp}/map`;
    const code = await runCli(["map", "build", ds, "--out", map, "--model", GENERIC, "--index", "exact"]);
    if (code !== 0) throw new Error(`waymark map build exited with ${code}`);
    const got = await capture(ds, map);
    await render(got, out);
    console.log(
      `${out}: ${got.scenes} scenes, ${got.cameras} camera frames, ${got.estimates} estimates, ${got.loops} loops`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
