/**
 * `bag:<file.bag>#<topic>`: replay of a ROS 1 bag's image topic (`sensor_msgs/CompressedImage` or
 * `sensor_msgs/Image`) as a `FrameSource`, read with `@foxglove/rosbag`. Chunks may be uncompressed, lz4 or bz2.
 * Messages are deserialised by the project's own ROS 1 reader (`ros_serialization.ts`), so the stamps are the
 * header's integer seconds and nanoseconds, kept exactly (see `recorded_source.ts` for timing and stamps).
 *
 * @example
 * ```ts ignore
 * import { openBagSource } from "./bag_source.ts";
 * const src = await openBagSource("run.bag", "/camera/image/compressed", { rate: "max" });
 * src.frames().subscribe((f) => console.log(f.seq, f.time));
 * ```
 *
 * @module
 */
import { Bag } from "@foxglove/rosbag";
import lz4 from "lz4js";
import Bunzip from "seek-bzip";
import { DatasetError, invalid } from "../errors.ts";
import { decodeRosImageFields, imageKindOfType } from "./ros_messages.ts";
import { deserializeRosImage } from "./ros_serialization.ts";
import {
  RandomAccessFile,
  type RecordedImage,
  type RecordedMessage,
  RecordedSource,
  type RecordedSourceOptions,
  recordedTiming,
} from "./recorded_source.ts";

/** Chunk decompressors for `@foxglove/rosbag` (the bag format allows `lz4` and `bz2` besides `none`). */
const DECOMPRESS = {
  lz4: (buffer: Uint8Array, size: number): Uint8Array => lz4.decompress(buffer, size),
  bz2: (buffer: Uint8Array, size: number): Uint8Array => new Uint8Array(Bunzip.decode(buffer, size)),
};

/** An image topic of a bag: its name, message type and message count. */
export interface BagTopic {
  topic: string;
  type: string;
  messages: number;
}

/** The topics of an open bag with their types and message counts (from the chunk infos). */
function bagTopics(bag: Bag): BagTopic[] {
  const counts = new Map<number, number>();
  for (const info of bag.chunkInfos) {
    for (const c of info.connections) counts.set(c.conn, (counts.get(c.conn) ?? 0) + c.count);
  }
  const byTopic = new Map<string, BagTopic>();
  for (const c of bag.connections.values()) {
    const t = byTopic.get(c.topic) ?? { topic: c.topic, type: c.type ?? "?", messages: 0 };
    t.messages += counts.get(c.conn) ?? 0;
    byTopic.set(c.topic, t);
  }
  return [...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic));
}

/** Decode one serialised ROS 1 image message, keeping the header stamp exact. */
export function decodeRos1Image(data: Uint8Array, type: string): RecordedImage {
  const kind = imageKindOfType(type);
  if (!kind) throw new DatasetError(`Cannot replay messages of type ${type}: not an image type`);
  const fields = deserializeRosImage(data, kind, "ros1", false);
  const decoded = decodeRosImageFields(fields);
  const { sec, nanosec } = fields.header;
  return {
    image: decoded.image,
    stamp: sec === 0 && nanosec === 0 ? null : { sec, nsec: nanosec },
    frameId: decoded.frameId,
  };
}

/** Open a bag file and read its index; errors name the file. */
async function openBag(path: string): Promise<{ bag: Bag; file: RandomAccessFile }> {
  let file: RandomAccessFile;
  try {
    file = await RandomAccessFile.open(path);
  } catch (err) {
    throw new DatasetError(`Cannot open the bag ${path}: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
  const bag = new Bag({ read: (o, l) => file.read(o, l), size: () => file.size }, {
    decompress: DECOMPRESS,
    parse: false,
  });
  try {
    await bag.open();
  } catch (err) {
    await file.close();
    throw new DatasetError(`Cannot read ${path} as a ROS 1 bag (format 2.0): ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
  return { bag, file };
}

/** List the topics of a bag (for `--help`-style messages and tools). */
export async function listBagTopics(path: string): Promise<BagTopic[]> {
  const { bag, file } = await openBag(path);
  try {
    return bagTopics(bag);
  } finally {
    await file.close();
  }
}

/**
 * Open `topic` of the bag at `path` as a frame source (undefined: the bag's only image topic).
 * @throws DatasetError for a file that is not a readable bag; ValidationError for a topic the bag lacks or that
 *   holds no images (the message lists the image topics it has).
 */
export async function openBagSource(
  path: string,
  topic: string | undefined,
  options: RecordedSourceOptions = {},
): Promise<RecordedSource> {
  const action = `replay ${path}`;
  recordedTiming(action, options);
  const { bag, file } = await openBag(path);
  const topics = bagTopics(bag);
  const images = topics.filter((t) => imageKindOfType(t.type));
  // Without a topic, the bag's only image topic.
  if (topic === undefined && images.length === 1) topic = images[0].topic;
  const found = topics.find((t) => t.topic === topic);
  if (!found || !imageKindOfType(found.type)) {
    await file.close();
    const have = images.length
      ? `an image topic of the bag: ${images.map((t) => `${t.topic} (${t.type}, ${t.messages})`).join(", ")}`
      : "an image topic, but the bag has none (sensor_msgs/Image or CompressedImage)";
    throw invalid(action, "topic", have, found ? `${topic} (${found.type})` : topic ?? "(none given)");
  }
  const name = `bag:${path}#${topic}`;
  const wanted = found.topic;
  const typeOfConn = new Map<number, string>();
  for (const c of bag.connections.values()) typeOfConn.set(c.conn, c.type ?? "");
  async function* messages(): AsyncIterable<RecordedMessage> {
    for await (const m of bag.messageIterator({ topics: [wanted] })) {
      const type = typeOfConn.get(m.connectionId) ?? "";
      const data = m.data;
      yield {
        logTimeNs: BigInt(m.timestamp.sec) * 1_000_000_000n + BigInt(m.timestamp.nsec),
        decode: () => decodeRos1Image(data, type),
      };
    }
  }
  return new RecordedSource(name, messages, options, () => file.close());
}
