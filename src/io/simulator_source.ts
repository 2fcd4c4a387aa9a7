/**
 * The simulated camera as a live source: renders the simulator's route and emits `CameraFrame`s (JPEG, PNG or
 * raw RGB) with ground-truth `position`, at a chosen rate or as fast as possible, stopping after the route or
 * looping over it. `simulatorSource()` is the plain Observable; `createSimulatorSource()` wraps it in the
 * `FrameSource` interface (shared frames, connection events, counters, close).
 * @module
 */
import { Observable, type Subscriber } from "rxjs";
import { invalid } from "./../errors.ts";
import type { CameraFrame, EncodedImage, RawImage } from "../types.ts";
import type { FrameSource } from "./frame_source.ts";
import { ReplayClock, ReplayingSource } from "./_replay_runs.ts";
import { encodeImage } from "./simulator/encode.ts";
import { planRoute, type RouteOptions } from "./simulator/route.ts";

/** Options of the simulated live source: the route's (scene, traversals, condition) plus emission. */
export interface SimulatorSourceOptions extends RouteOptions {
  /** Emission rate in frames per second; 0 emits as fast as frames are rendered. Default: the route's fps. */
  rate?: number;
  /** Start over after the last traversal (stamps and seq keep increasing). Default false. */
  loop?: boolean;
  /** Image payload: `jpeg` and `png` are encoded, `raw` is rgb8 pixels. Default "jpeg". */
  encoding?: "jpeg" | "png" | "raw";
  /** JPEG quality. Default 85. */
  quality?: number;
  /** `CameraFrame.frameId`. Default "sim_camera". */
  frameId?: string;
  /** Stop after this many frames in total (useful with `loop`). Default: no limit. */
  maxFrames?: number;
}

function validate(options: SimulatorSourceOptions): void {
  const action = "start the simulated camera";
  if (
    options.rate !== undefined &&
    !(typeof options.rate === "number" && options.rate >= 0 && options.rate <= 10000)
  ) {
    throw invalid(action, "rate", "a number in [0, 10000] (0: as fast as possible)", options.rate);
  }
  const enc = options.encoding ?? "jpeg";
  if (enc !== "jpeg" && enc !== "png" && enc !== "raw") {
    throw invalid(action, "encoding", "jpeg, png or raw", enc);
  }
  const q = options.quality ?? 85;
  if (!Number.isInteger(q) || q < 1 || q > 100) throw invalid(action, "quality", "an integer in [1, 100]", q);
  if (options.maxFrames !== undefined && !(Number.isInteger(options.maxFrames) && options.maxFrames > 0)) {
    throw invalid(action, "maxFrames", "a positive integer", options.maxFrames);
  }
}

/** Name of a simulated source, used as `CameraFrame.source`. */
export function simulatorSourceName(options: SimulatorSourceOptions = {}): string {
  return `sim:seed=${options.simulator?.options.seed ?? options.seed ?? 1}`;
}

/**
 * A cold Observable of simulated camera frames. Each subscription builds the scene (a few hundred ms, on first
 * frame), then renders, encodes and emits every frame of the route in order, paced at `rate` (drift-free; a
 * frame that is late is emitted at once, never queued), and completes after the route unless `loop`.
 * Unsubscribing stops rendering.
 *
 * @example
 * ```ts
 * import { firstValueFrom, take, toArray } from "rxjs";
 * import { simulatorSource } from "./simulator_source.ts";
 * const frames = await firstValueFrom(
 *   simulatorSource({ width: 64, height: 48, frames: 20, rate: 0 }).pipe(take(3), toArray()),
 * );
 * console.assert(frames[2].seq === 2 && frames[0].position !== undefined);
 * ```
 */
export function simulatorSource(options: SimulatorSourceOptions = {}): Observable<CameraFrame> {
  validate(options);
  return new Observable<CameraFrame>((subscriber) => {
    const abort = new AbortController();
    const signal = abort.signal;
    (async () => {
      // Let a synchronous unsubscribe (take(0), immediate teardown) land before the heavy scene build.
      await Promise.resolve();
      if (signal.aborted) return;
      const { simulator, traversals } = planRoute(options);
      const rate = options.rate ?? simulator.options.fps;
      const encoding = options.encoding ?? "jpeg";
      const quality = options.quality ?? 85;
      const frameId = options.frameId ?? "sim_camera";
      const source = simulatorSourceName(options);
      const steps = traversals.flat();
      const last = steps[steps.length - 1].pose;
      const period = last.stamp - steps[0].pose.stamp + 60; // stamps keep increasing when looping
      const buffer = new Uint8Array(simulator.camera.width * simulator.camera.height * 3);
      const clock = new ReplayClock({ rate: rate > 0 ? rate : "max", speed: 1 });
      let seq = 0;
      for (let round = 0; !signal.aborted; round++) {
        for (const { pose, conditions } of steps) {
          if (signal.aborted) return;
          if (options.maxFrames !== undefined && seq >= options.maxFrames) {
            subscriber.complete();
            return;
          }
          const pixels = simulator.render(pose, conditions, encoding === "raw" ? undefined : buffer);
          const image: EncodedImage | RawImage = encoding === "raw"
            ? {
              kind: "raw",
              width: pixels.width,
              height: pixels.height,
              encoding: "rgb8",
              step: pixels.width * 3,
              bigEndian: false,
              data: pixels.data,
            }
            : { kind: "encoded", format: encoding, data: await encodeImage(pixels, encoding, quality) };
          if (signal.aborted) return;
          await clock.waitFor(seq, () => 0, signal);
          if (signal.aborted) return;
          subscriber.next({
            seq,
            stamp: pose.stamp + round * period,
            frameId,
            image,
            position: { x: pose.x, y: pose.y },
            source,
          });
          seq++;
        }
        if (!options.loop) break;
      }
      if (!signal.aborted) subscriber.complete();
    })().catch((err) => {
      if (!signal.aborted) subscriber.error(err);
    });
    return () => abort.abort();
  });
}

/**
 * The simulated camera behind the `FrameSource` interface: `frames()` is shared (the first subscriber starts
 * the route, the last one stops it), `events()` reports `open` when frames start and `closed` when they end.
 *
 * @example
 * ```ts
 * import { lastValueFrom, toArray } from "rxjs";
 * import { createSimulatorSource } from "./simulator_source.ts";
 * const source = createSimulatorSource({ width: 64, height: 48, frames: 5, traversals: 1, rate: 0 });
 * const frames = await lastValueFrom(source.frames().pipe(toArray()));
 * console.assert(frames.length === 5 && source.counters.frames === 5);
 * await source.close();
 * ```
 */
export function createSimulatorSource(options: SimulatorSourceOptions = {}): FrameSource {
  validate(options);
  return new SimulatorFrameSource(simulatorSourceName(options), options);
}

/** One route per run: the frames of {@link simulatorSource}, counted; its failure also an error event. */
class SimulatorFrameSource extends ReplayingSource {
  constructor(readonly name: string, private readonly options: SimulatorSourceOptions) {
    super();
  }

  protected override replay(subscriber: Subscriber<CameraFrame>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sub = simulatorSource(this.options).subscribe({
        next: (frame) => this.emit(subscriber, frame),
        error: (err) => {
          this.reportError(err);
          reject(err);
        },
        complete: () => resolve(),
      });
      signal.addEventListener("abort", () => {
        sub.unsubscribe();
        resolve();
      }, { once: true });
    });
  }
}
