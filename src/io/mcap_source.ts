/**
 * `mcap:<file.mcap>#<topic>`: replay of an MCAP file's image topic as a `FrameSource`, read with `@mcap/core`
 * (indexed files; chunks uncompressed or lz4). Accepted channel encodings:
 *
 * | schema name                                       | message encoding | decoded by                       |
 * |---------------------------------------------------|------------------|----------------------------------|
 * | `sensor_msgs/CompressedImage`, `sensor_msgs/Image`| `ros1`           | ROS 1 reader (`ros_serialization.ts`) |
 * | `sensor_msgs/msg/CompressedImage`, `.../msg/Image`| `cdr`            | ROS 2 CDR reader (same module)   |
 * | `foxglove.CompressedImage`                        | `protobuf`, `json` | this module                    |
 *
 * Frame stamps are the header stamps (`foxglove.CompressedImage.timestamp`), kept exactly; timing follows the log
 * times (see `recorded_source.ts`).
 *
 * @module
 */
import { McapIndexedReader } from "@mcap/core";
import lz4 from "lz4js";
import { DatasetError } from "../errors.ts";
import { decodeBase64 } from "./base64.ts";
import { containerOfFormat, imageKindOfType } from "./ros_messages.ts";
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

/** A channel of an MCAP file as listed in messages. */
export interface McapTopic {
  topic: string;
  schema: string;
  encoding: string;
  messages?: number;
}

const FOXGLOVE_COMPRESSED = "foxglove.CompressedImage";

/** How a channel's messages are decoded, or null when this module cannot decode them. */
function decoderOf(schema: string, encoding: string): ((data: Uint8Array) => RecordedImage) | null {
  const kind = imageKindOfType(schema);
  if (kind && (encoding === "ros1" || encoding === "cdr")) {
    return (data) => decodeRecordedRosImage(data, kind, encoding);
  }
  if (schema === FOXGLOVE_COMPRESSED && encoding === "protobuf") return decodeFoxgloveCompressedProtobuf;
  if (schema === FOXGLOVE_COMPRESSED && encoding === "json") return decodeFoxgloveCompressedJson;
  return null;
}

function foxgloveImage(
  stamp: { sec: number; nsec: number },
  frameId: string,
  format: string,
  data: Uint8Array,
): RecordedImage {
  if (data.length === 0) {
    throw new DatasetError(`Cannot decode ${FOXGLOVE_COMPRESSED} as 'data' is empty`);
  }
  if (!Number.isInteger(stamp.sec) || !Number.isInteger(stamp.nsec) || stamp.nsec < 0 || stamp.nsec >= 1e9) {
    throw new DatasetError(
      `Cannot decode ${FOXGLOVE_COMPRESSED} as 'timestamp' must be integer sec and nsec in [0, 1e9): current value is ${
        JSON.stringify(stamp)
      }`,
    );
  }
  return {
    image: { kind: "encoded", format: containerOfFormat(format), data },
    stamp: stamp.sec === 0 && stamp.nsec === 0 ? null : stamp,
    frameId,
  };
}

/** `foxglove.CompressedImage` in JSON encoding (`data` as base64). */
export function decodeFoxgloveCompressedJson(bytes: Uint8Array): RecordedImage {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new DatasetError(`Cannot decode ${FOXGLOVE_COMPRESSED} (json) as it is not JSON: ${err}`);
  }
  if (m === null || typeof m !== "object" || typeof m.data !== "string" || typeof m.format !== "string") {
    throw new DatasetError(
      `Cannot decode ${FOXGLOVE_COMPRESSED} (json) as 'data' and 'format' must be strings`,
    );
  }
  const ts = (m.timestamp ?? {}) as { sec?: unknown; nsec?: unknown };
  return foxgloveImage(
    { sec: Number(ts.sec ?? 0), nsec: Number(ts.nsec ?? 0) },
    typeof m.frame_id === "string" ? m.frame_id : "",
    m.format,
    decodeBase64(m.data),
  );
}

/** A protobuf reader for the few wire types `foxglove.CompressedImage` uses. */
class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length || shift > 63n) {
        throw new DatasetError(`Cannot decode ${FOXGLOVE_COMPRESSED} (protobuf): truncated varint`);
      }
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) {
      throw new DatasetError(`Cannot decode ${FOXGLOVE_COMPRESSED} (protobuf): a field runs past the end`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new DatasetError(`Cannot decode ${FOXGLOVE_COMPRESSED} (protobuf): wire type ${wire}`);
  }
}

/**
 * `foxglove.CompressedImage` in protobuf encoding: `timestamp` = 1 (google.protobuf.Timestamp: seconds = 1,
 * nanos = 2), `data` = 2, `format` = 3, `frame_id` = 4.
 */
export function decodeFoxgloveCompressedProtobuf(bytes: Uint8Array): RecordedImage {
  const r = new ProtoReader(bytes);
  const utf8 = new TextDecoder();
  let sec = 0, nsec = 0, frameId = "", format = "";
  let data: Uint8Array = new Uint8Array(0);
  while (!r.done) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    if (field === 1 && wire === 2) {
      const t = new ProtoReader(r.bytes());
      while (!t.done) {
        const k = Number(t.varint());
        if ((k >>> 3) === 1 && (k & 7) === 0) sec = Number(BigInt.asIntN(64, t.varint()));
        else if ((k >>> 3) === 2 && (k & 7) === 0) nsec = Number(BigInt.asIntN(32, t.varint()));
        else t.skip(k & 7);
      }
    } else if (field === 2 && wire === 2) data = r.bytes();
    else if (field === 3 && wire === 2) format = utf8.decode(r.bytes());
    else if (field === 4 && wire === 2) frameId = utf8.decode(r.bytes());
    else r.skip(wire);
  }
  return foxgloveImage({ sec, nsec }, frameId, format, data);
}

const DECOMPRESS = {
  lz4: (buffer: Uint8Array, size: bigint): Uint8Array => lz4.decompress(buffer, Number(size)),
};

/** Open an MCAP file's index; errors name the file. */
function openMcap(path: string): Promise<{ reader: McapIndexedReader; file: RandomAccessFile }> {
  return openRecordingFile(path, "MCAP file", "an indexed MCAP file", (file) =>
    McapIndexedReader.Initialize({
      readable: {
        size: () => Promise.resolve(BigInt(file.size)),
        read: (offset, size) => file.read(Number(offset), Number(size)),
      },
      decompressHandlers: DECOMPRESS,
    }));
}

function mcapTopics(reader: McapIndexedReader): McapTopic[] {
  return [...reader.channelsById.values()].map((c) => {
    const t: McapTopic = {
      topic: c.topic,
      schema: reader.schemasById.get(c.schemaId)?.name ?? "",
      encoding: c.messageEncoding,
    };
    const n = reader.statistics?.channelMessageCounts.get(c.id);
    if (n !== undefined) t.messages = Number(n);
    return t;
  }).sort((a, b) => a.topic.localeCompare(b.topic));
}

/**
 * Open `topic` of the MCAP file at `path` as a frame source (undefined: the file's only image topic).
 * @throws DatasetError for a file that is not a readable indexed MCAP; ValidationError for a topic the file lacks
 *   or whose schema/encoding is not a supported image (the message lists the image topics it has).
 */
export function openMcapSource(
  path: string,
  topic: string | undefined,
  options: RecordedSourceOptions = {},
): Promise<RecordedSource> {
  return openRecordedSource("mcap", path, topic, options, openMcap, (reader, topic) => {
    const topics = mcapTopics(reader);
    const describe = (t: McapTopic) =>
      `${t.topic} (${t.schema}, ${t.encoding}${t.messages !== undefined ? `, ${t.messages}` : ""})`;
    const usable = topics.filter((t) => decoderOf(t.schema, t.encoding));
    // Without a topic, the file's only decodable image topic.
    if (topic === undefined && new Set(usable.map((t) => t.topic)).size === 1) topic = usable[0].topic;
    const channels = [...reader.channelsById.values()].filter((c) => c.topic === topic);
    const decoders = new Map<number, (data: Uint8Array) => RecordedImage>();
    for (const c of channels) {
      const d = decoderOf(reader.schemasById.get(c.schemaId)?.name ?? "", c.messageEncoding);
      if (d) decoders.set(c.id, d);
    }
    if (decoders.size === 0) {
      const found = topics.find((t) => t.topic === topic);
      return {
        expected: usable.length
          ? `an image topic of the file: ${usable.map(describe).join(", ")}`
          : "an image topic, but the file has none that can be decoded (sensor_msgs Image/CompressedImage in " +
            "ros1 or cdr, foxglove.CompressedImage in protobuf or json)",
        given: found ? describe(found) : topic ?? "(none given)",
      };
    }
    const wanted = topic as string;
    async function* messages(): AsyncIterable<RecordedMessage> {
      for await (const m of reader.readMessages({ topics: [wanted] })) {
        const decode = decoders.get(m.channelId);
        if (!decode) continue;
        const data = m.data;
        yield { logTimeNs: m.logTime, decode: () => decode(data) };
      }
    }
    return { topic: wanted, messages };
  });
}
