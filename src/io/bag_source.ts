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
import { DatasetError } from "../errors.ts";
import { imageKindOfType } from "./ros_messages.ts";
import {
  decodeRecordedRosImage,
  openRecordedSource,
  openRecordingFile,
  type RandomAccessFile,
  type RecordedImage,
  type RecordedMessage,
  type RecordedSource,
  type RecordedSourceOptions,
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
  return decodeRecordedRosImage(data, kind, "ros1");
}

/** Open a bag file and read its index; errors name the file. */
function openBag(path: string): Promise<{ reader: Bag; file: RandomAccessFile }> {
  return openRecordingFile(path, "bag", "a ROS 1 bag (format 2.0)", async (file) => {
    const bag = new Bag({ read: (o, l) => file.read(o, l), size: () => file.size }, {
      decompress: DECOMPRESS,
      parse: false,
    });
    await bag.open();
    return bag;
  });
}

/** List the topics of a bag (for `--help`-style messages and tools). */
export async function listBagTopics(path: string): Promise<BagTopic[]> {
  const { reader: bag, file } = await openBag(path);
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
export function openBagSource(
  path: string,
  topic: string | undefined,
  options: RecordedSourceOptions = {},
): Promise<RecordedSource> {
  return openRecordedSource("bag", path, topic, options, openBag, (bag, topic) => {
    const topics = bagTopics(bag);
    const images = topics.filter((t) => imageKindOfType(t.type));
    // Without a topic, the bag's only image topic.
    if (topic === undefined && images.length === 1) topic = images[0].topic;
    const found = topics.find((t) => t.topic === topic);
    if (!found || !imageKindOfType(found.type)) {
      return {
        expected: images.length
          ? `an image topic of the bag: ${
            images.map((t) => `${t.topic} (${t.type}, ${t.messages})`).join(", ")
          }`
          : "an image topic, but the bag has none (sensor_msgs/Image or CompressedImage)",
        given: found ? `${topic} (${found.type})` : topic ?? "(none given)",
      };
    }
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
    return { topic: wanted, messages };
  });
}
