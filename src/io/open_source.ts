/**
 * One entry point from a `--source` string to a `FrameSource`:
 *
 * | spec                                   | source                                                          |
 * |----------------------------------------|-----------------------------------------------------------------|
 * | `ws://host:port/path`, `wss://…`       | WebSocket camera (`websocket_source.ts`)                        |
 * | `rosbridge://host[:port]/topic`        | rosbridge topic, port 9090 by default (`rosbridge_source.ts`)    |
 * | `dataset:<dir>`                        | replay of `queries.csv`, else `database.csv`, else `sequence.csv`, else the folder's images |
 * | `dataset:<dir>#queries` (`#database`, `#sequence`, `#folder`) | replay of that list                |
 * | `sim`                                  | the simulated camera (`simulator_source.ts`)                    |
 * | `bag:<file.bag>[#topic]`               | a ROS 1 bag's image topic (`bag_source.ts`)                     |
 * | `mcap:<file.mcap>[#topic]`             | an MCAP file's image topic (`mcap_source.ts`)                   |
 *
 * Per-kind options come from `options.websocket`, `.rosbridge`, `.replay`, `.simulator`, `.recorded`.
 *
 * @example
 * ```ts ignore
 * import { openFrameSource } from "./open_source.ts";
 * const src = await openFrameSource("rosbridge://robot:9090/camera/image/compressed", {
 *   rosbridge: { compression: "cbor" },
 * });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { invalid } from "../errors.ts";
import { fileExists } from "../_fs.ts";
import type { FrameSource } from "./frame_source.ts";
import { websocketSource, type WebSocketSourceOptions } from "./websocket_source.ts";
import { rosbridgeSource, type RosbridgeSourceOptions } from "./rosbridge_source.ts";
import { type ReplayEntry, replaySource, type ReplaySourceOptions } from "./replay_source.ts";
import { createSimulatorSource, type SimulatorSourceOptions } from "./simulator_source.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import { readLoopDataset } from "../dataset/loop_dataset.ts";
import { readImageFolder, readImageSource } from "../dataset/image_folder.ts";
import type { RecordedSourceOptions } from "./recorded_source.ts";
import { openBagSource } from "./bag_source.ts";
import { openMcapSource } from "./mcap_source.ts";

/** Per-kind options of {@link openFrameSource}. */
export interface OpenFrameSourceOptions {
  /** For `ws://` and `wss://` specs. */
  websocket?: WebSocketSourceOptions;
  /** For `rosbridge://` specs. */
  rosbridge?: RosbridgeSourceOptions;
  /** For `dataset:` specs. */
  replay?: ReplaySourceOptions;
  /** For `sim`. */
  simulator?: SimulatorSourceOptions;
  /** For `bag:` and `mcap:` specs. */
  recorded?: RecordedSourceOptions;
}

/** Which image list of a dataset folder a `dataset:` spec replays. */
export type DatasetList = "queries" | "database" | "sequence" | "folder";

/** The entries of a dataset list (default: queries.csv, else database/sequence/folder as found). */
export async function datasetEntries(dir: string, list?: DatasetList): Promise<ReplayEntry[]> {
  const needs = { queries: "queries.csv", database: "database.csv", sequence: "sequence.csv" } as const;
  if (list !== undefined && list !== "folder" && !(await fileExists(join(dir, needs[list])))) {
    // Name the list that was asked for and what the folder offers instead of a later complaint about another CSV.
    const has: string[] = [];
    for (const [l, f] of Object.entries(needs)) if (await fileExists(join(dir, f))) has.push(`#${l} (${f})`);
    throw invalid(
      "open a frame source",
      "source",
      `a list the folder has: dataset:${dir}#${list} reads ${needs[list]}, which ${dir} lacks; ${
        has.length ? `it has ${has.join(", ")}, and ` : ""
      }#folder replays its images`,
      `dataset:${dir}#${list}`,
    );
  }
  const which = list ?? (await fileExists(join(dir, "queries.csv")) ? "queries" : undefined);
  switch (which) {
    case "queries":
      return (await readRetrievalDataset(dir)).queries;
    case "database":
      return (await readRetrievalDataset(dir)).database;
    case "sequence":
      return (await readLoopDataset(dir)).frames;
    case "folder":
      return await readImageFolder(dir);
    default:
      return (await readImageSource(dir)).images;
  }
}

/**
 * Open the frame source a spec names (see the module doc).
 * @throws ValidationError for an unknown spec or invalid options; DatasetError for a bad dataset folder.
 */
export async function openFrameSource(
  spec: string,
  options: OpenFrameSourceOptions = {},
): Promise<FrameSource> {
  if (/^wss?:\/\//i.test(spec)) return websocketSource(spec, options.websocket);
  if (/^rosbridges?:\/\//i.test(spec)) return rosbridgeSource(spec, options.rosbridge);
  if (spec === "sim" || spec === "sim:") return createSimulatorSource(options.simulator);
  if (spec.startsWith("dataset:")) {
    const [dir, frag] = spec.slice("dataset:".length).split("#", 2);
    if (!dir) throw invalid("open a frame source", "source", "dataset:<dir>", spec);
    const lists: DatasetList[] = ["queries", "database", "sequence", "folder"];
    if (frag !== undefined && !lists.includes(frag as DatasetList)) {
      throw invalid("open a frame source", "source", `a dataset list among #${lists.join(", #")}`, spec);
    }
    const entries = await datasetEntries(dir, frag as DatasetList | undefined);
    return replaySource(entries, { name: spec, ...options.replay });
  }
  const recorded = /^(bag|mcap):(.*)$/.exec(spec);
  if (recorded) {
    const [, kind, rest] = recorded;
    const hash = rest.lastIndexOf("#");
    const file = hash < 0 ? rest : rest.slice(0, hash);
    const topic = hash < 0 || hash === rest.length - 1 ? undefined : rest.slice(hash + 1);
    if (!file) throw invalid("open a frame source", "source", `${kind}:<file>[#topic]`, spec);
    return kind === "bag"
      ? await openBagSource(file, topic, options.recorded)
      : await openMcapSource(file, topic, options.recorded);
  }
  throw invalid(
    "open a frame source",
    "source",
    "ws://host:port/path, rosbridge://host:port/topic, dataset:<dir>[#list], bag:<file.bag>[#topic], " +
      "mcap:<file.mcap>[#topic] or sim",
    spec,
  );
}
