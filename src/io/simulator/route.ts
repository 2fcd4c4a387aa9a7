/**
 * Simulated routes: several traversals of the loop, the first nominal (the map) and the later ones under a
 * chosen condition change, as poses with their render conditions, or rendered frame by frame.
 * @module
 */
import { invalid } from "../../errors.ts";
import type { PixelImage } from "../../types.ts";
import { type ConditionName, traversalSetup } from "./conditions.ts";
import type { RenderConditions } from "./renderer.ts";
import { createSimulator, type SimPose, type Simulator, type SimulatorOptions } from "./simulator.ts";

/** Options of a simulated route: the simulator's, plus traversals and their condition change. */
export interface RouteOptions extends SimulatorOptions {
  /** Number of traversals (each one lap). Default 2. */
  traversals?: number;
  /** Condition change of traversals after the first. Default "all". */
  condition?: ConditionName;
  /** Strength of the condition change (1 nominal, 0 none). Default 1. */
  strength?: number;
  /** Reuse an already built simulator (its options win over the scene options here). */
  simulator?: Simulator;
}

/** One planned frame of a route. */
export interface RouteStep {
  pose: SimPose;
  conditions: RenderConditions;
}

/** One rendered frame of a route. */
export interface SimFrame {
  /** Frame number over the whole route (all traversals). */
  index: number;
  pose: SimPose;
  /** Position (metres) of the frame, as in `CameraFrame.position`. */
  position: { x: number; y: number };
  image: PixelImage;
}

/** Validate route options and return the simulator and every traversal's steps. */
export function planRoute(options: RouteOptions = {}): { simulator: Simulator; traversals: RouteStep[][] } {
  const n = options.traversals ?? 2;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw invalid("plan a simulated route", "traversals", "an integer in [1, 1000]", n);
  }
  const simulator = options.simulator ?? createSimulator(options);
  const traversals: RouteStep[][] = [];
  for (let t = 0; t < n; t++) {
    const setup = traversalSetup(t, options.condition ?? "all", options.strength ?? 1);
    const poses = simulator.path(setup.traversal);
    traversals.push(poses.map((pose) => ({
      pose,
      conditions: { ...setup.conditions, noiseSeed: (setup.conditions.noiseSeed ?? 0) + pose.seq },
    })));
  }
  return { simulator, traversals };
}

/**
 * Render a route frame by frame: every traversal in order, each frame with its ground-truth pose.
 *
 * @example
 * ```ts
 * import { simulateRoute } from "./route.ts";
 * let count = 0;
 * for (const frame of simulateRoute({ width: 64, height: 48, frames: 10, traversals: 2 })) count++;
 * console.assert(count === 20);
 * ```
 */
export function* simulateRoute(options: RouteOptions = {}): Generator<SimFrame> {
  const { simulator, traversals } = planRoute(options);
  let index = 0;
  for (const steps of traversals) {
    for (const { pose, conditions } of steps) {
      yield {
        index: index++,
        pose,
        position: { x: pose.x, y: pose.y },
        image: simulator.render(pose, conditions),
      };
    }
  }
}
