/**
 * The simulated camera: a seeded procedural building (corridor loop with side branches, textured walls with
 * landmarks and look-alike segments), a route that revisits places, and traversal conditions (lighting,
 * exposure, sensor noise, viewpoint offset, changed posters). Frames come with their ground-truth pose.
 * @module
 */
import { invalid } from "../../errors.ts";
import type { PixelImage } from "../../types.ts";
import { Rng } from "./_rng.ts";
import { buildFloorPlan, type FloorPlan, type FloorPlanOptions } from "./floor_plan.ts";
import { type CameraModel, type Pose, type RenderConditions, renderFrame } from "./renderer.ts";
import { buildWorld, type World, type WorldOptions } from "./world.ts";

export type { Pose, RenderConditions } from "./renderer.ts";

/** Options of the simulator: scene, camera and motion. Every field has a default. */
export interface SimulatorOptions extends FloorPlanOptions, WorldOptions {
  /** Seed of everything (plan, textures, jitter, noise). Default 1. */
  seed?: number;
  /** Image width in pixels. Default 640. */
  width?: number;
  /** Image height in pixels. Default 480. */
  height?: number;
  /** Horizontal field of view in degrees. Default 70. */
  fovDeg?: number;
  /** Camera height in metres. Default 1.4. */
  cameraHeight?: number;
  /** Walking speed in m/s. Default 1.0. With `frames` and `fps` both given, the speed follows from them. */
  speed?: number;
  /** Frame rate of the route (stamps), frames per second. Default 10, or with `frames` (and no fps) whatever
   * rate gives `frames` frames per lap at `speed`. */
  fps?: number;
  /** Frames per lap; when given, one lap takes exactly this many frames (see `fps` and `speed`). */
  frames?: number;
}

/** One traversal of the route and how it differs from the nominal one. */
export interface Traversal {
  /** Traversal number (0-based): seeds its jitter and noise, and offsets its stamps. Default 0. */
  index?: number;
  /** Laps of the loop. Default 1. */
  laps?: number;
  /** Lateral shift to the left of the route in metres (negative: right). Default 0. */
  lateralOffset?: number;
  /** Standard deviation of a smooth heading jitter, degrees. Default 0. */
  headingJitterDeg?: number;
  /** Start along the route in metres. Default: a fraction of a frame step that differs per traversal. */
  startOffset?: number;
  /** Stamp of the first frame, seconds. Default: traversal index * (lap time + 60 s). */
  startStamp?: number;
}

/** A pose on a traversal, with its frame number and time. */
export interface SimPose extends Pose {
  /** Frame number within the traversal. */
  seq: number;
  /** Seconds. */
  stamp: number;
  traversal: number;
  /** Metres travelled along the route since the start of the lap it lies on (before offsets). */
  distance: number;
}

/** A simulator instance. */
export interface Simulator {
  readonly options: Readonly<Required<Omit<SimulatorOptions, "frames">>> & { frames?: number };
  readonly plan: FloorPlan;
  readonly world: World;
  readonly camera: CameraModel;
  /** Metres between consecutive frames. */
  readonly step: number;
  /** Render the view from `pose` under `conditions` (RGB, options.width x options.height). */
  render(pose: Pose, conditions?: RenderConditions, out?: Uint8Array): PixelImage;
  /** Poses of one traversal, in order. */
  path(traversal?: Traversal): SimPose[];
}

const ACTION = "create the simulator";

// Worlds are immutable once built and cost a few hundred ms: keep the last few, keyed by what shapes them.
const WORLD_CACHE = new Map<string, World>();
const WORLD_CACHE_SIZE = 3;

function cachedWorld(plan: FloorPlan, seed: number, world: WorldOptions, scene: FloorPlanOptions): World {
  const key = JSON.stringify([
    seed,
    world.aliasing,
    world.landmarkDensity,
    scene.loopWidth,
    scene.loopHeight,
    scene.corridorWidth,
    scene.branches,
    scene.wallHeight,
  ]);
  let w = WORLD_CACHE.get(key);
  if (w === undefined) {
    w = buildWorld(plan, seed, world);
    if (WORLD_CACHE.size >= WORLD_CACHE_SIZE) WORLD_CACHE.delete(WORLD_CACHE.keys().next().value!);
  } else WORLD_CACHE.delete(key);
  WORLD_CACHE.set(key, w);
  return w;
}

function num(field: string, value: unknown, min: number, max: number, integer = false): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < min || value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalid(ACTION, field, `${integer ? "an integer" : "a number"} in [${min}, ${max}]`, value);
  }
  return value;
}

/**
 * Build a simulator. Building the textures takes a few hundred milliseconds; rendering is then a few ms per
 * 640x480 frame.
 *
 * @example
 * ```ts
 * import { createSimulator } from "./simulator.ts";
 * const sim = createSimulator({ seed: 7, width: 160, height: 120 });
 * const poses = sim.path({ index: 0 });
 * const image = sim.render(poses[0]);
 * console.assert(image.data.length === 160 * 120 * 3);
 * ```
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const seed = num("seed", options.seed ?? 1, 0, 2 ** 31 - 1, true);
  const width = num("width", options.width ?? 640, 16, 4096, true);
  const height = num("height", options.height ?? 480, 16, 4096, true);
  const fovDeg = num("fovDeg", options.fovDeg ?? 70, 20, 150);
  const wallHeight = options.wallHeight ?? 2.5;
  const cameraHeight = num("cameraHeight", options.cameraHeight ?? 1.4, 0.2, Math.max(0.2, wallHeight - 0.2));
  let fps = num("fps", options.fps ?? 10, 0.1, 1000);
  const aliasing = num("aliasing", options.aliasing ?? 0.3, 0, 1);
  const landmarkDensity = num("landmarkDensity", options.landmarkDensity ?? 0.28, 0.01, 5);
  const plan = buildFloorPlan(seed, options);
  let speed = num("speed", options.speed ?? 1.0, 0.01, 100);
  if (options.frames !== undefined) {
    // One lap in exactly `frames` frames: keep the given fps (speed follows) or else the speed (fps follows).
    const frames = num("frames", options.frames, 2, 10_000_000, true);
    if (options.fps !== undefined) speed = (plan.routeLength * fps) / frames;
    else fps = (frames * speed) / plan.routeLength;
  }
  const world = cachedWorld(plan, seed, { aliasing, landmarkDensity }, options);
  const camera: CameraModel = { width, height, fovDeg, cameraHeight };
  const step = speed / fps;
  const lapTime = plan.routeLength / speed;
  const resolved = {
    seed,
    width,
    height,
    fovDeg,
    cameraHeight,
    speed,
    fps,
    aliasing,
    landmarkDensity,
    loopWidth: options.loopWidth ?? 40,
    loopHeight: options.loopHeight ?? 26,
    corridorWidth: options.corridorWidth ?? 3,
    branches: options.branches ?? 8,
    wallHeight,
    frames: options.frames,
  };
  return {
    options: resolved,
    plan,
    world,
    camera,
    step,
    render(pose, conditions = {}, out) {
      if (!Number.isFinite(pose.x) || !Number.isFinite(pose.y) || !Number.isFinite(pose.heading)) {
        throw invalid("render a simulated frame", "pose", "finite x, y and heading", pose);
      }
      if (out !== undefined && out.length !== width * height * 3) {
        throw invalid("render a simulated frame", "out", `a buffer of ${width * height * 3} bytes`, out);
      }
      return renderFrame(world, pose, camera, conditions, out);
    },
    path(traversal = {}) {
      const action = "plan a simulated traversal";
      const index = traversal.index ?? 0;
      if (!Number.isInteger(index) || index < 0) {
        throw invalid(action, "index", "a non-negative integer", index);
      }
      const laps = traversal.laps ?? 1;
      if (typeof laps !== "number" || !(laps > 0 && laps <= 1000)) {
        throw invalid(action, "laps", "a number in (0, 1000]", laps);
      }
      const lateral = traversal.lateralOffset ?? 0;
      const maxLateral = plan.route.radius - 0.1;
      if (typeof lateral !== "number" || !(Math.abs(lateral) <= maxLateral)) {
        throw invalid(
          action,
          "lateralOffset",
          `a number in [-${maxLateral.toFixed(2)}, ${maxLateral.toFixed(2)}] m`,
          lateral,
        );
      }
      const jitterDeg = traversal.headingJitterDeg ?? 0;
      if (typeof jitterDeg !== "number" || !(jitterDeg >= 0 && jitterDeg <= 30)) {
        throw invalid(action, "headingJitterDeg", "a number in [0, 30]", jitterDeg);
      }
      const start = traversal.startOffset ?? ((index * 0.37) % 1) * step;
      const startStamp = traversal.startStamp ?? index * (lapTime * laps + 60);
      const n = Math.max(1, Math.round((plan.routeLength * laps) / step));
      const rng = new Rng(seed * 7919 + index * 104729 + 17);
      const sigma = (jitterDeg * Math.PI) / 180;
      let jitter = sigma * rng.gauss();
      const poses: SimPose[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const s = start + i * step;
        const p = plan.routePoint(s);
        if (i > 0) jitter = 0.85 * jitter + Math.sqrt(1 - 0.85 * 0.85) * sigma * rng.gauss();
        poses[i] = {
          x: p.x - Math.sin(p.heading) * lateral,
          y: p.y + Math.cos(p.heading) * lateral,
          heading: p.heading + jitter,
          seq: i,
          stamp: startStamp + i / fps,
          traversal: index,
          distance: ((s % plan.routeLength) + plan.routeLength) % plan.routeLength,
        };
      }
      return poses;
    },
  };
}
