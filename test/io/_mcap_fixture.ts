/**
 * Test helper: write small MCAP files with `@mcap/core` (ROS 1, ROS 2 CDR and Foxglove protobuf/JSON image
 * channels) inside a temp folder the test created.
 * @module
 */
import { McapWriter } from "@mcap/core";
import lz4 from "lz4js";
import { type RosImageFields, serializeRosImage } from "../../src/io/ros_serialization.ts";
import { encodeBase64 } from "../../src/io/base64.ts";

/** One message to write. */
export interface FixtureMessage {
  topic: string;
  logTimeNs: bigint;
  data: Uint8Array;
}

/** One channel to register. */
export interface FixtureChannel {
  topic: string;
  schema: string;
  schemaEncoding: string;
  messageEncoding: string;
}

/** Write an indexed MCAP file (chunks lz4-compressed when `lz4Chunks`). */
export async function writeMcap(
  path: string,
  channels: FixtureChannel[],
  messages: FixtureMessage[],
  options: { lz4Chunks?: boolean; chunkSize?: number } = {},
): Promise<void> {
  const parts: Uint8Array[] = [];
  let pos = 0n;
  const writer = new McapWriter({
    writable: {
      write(buffer: Uint8Array) {
        parts.push(buffer.slice());
        pos += BigInt(buffer.length);
        return Promise.resolve();
      },
      position: () => pos,
    },
    chunkSize: options.chunkSize ?? 1024,
    compressChunk: options.lz4Chunks
      ? (data: Uint8Array) => ({ compression: "lz4", compressedData: lz4.compress(data) as Uint8Array })
      : undefined,
  });
  await writer.start({ profile: "", library: "waymark tests" });
  const ids = new Map<string, number>();
  for (const c of channels) {
    const schemaId = await writer.registerSchema({
      name: c.schema,
      encoding: c.schemaEncoding,
      data: new Uint8Array(0),
    });
    ids.set(
      c.topic,
      await writer.registerChannel({
        topic: c.topic,
        schemaId,
        messageEncoding: c.messageEncoding,
        metadata: new Map(),
      }),
    );
  }
  let sequence = 0;
  for (const m of messages) {
    await writer.addMessage({
      channelId: ids.get(m.topic)!,
      sequence: sequence++,
      logTime: m.logTimeNs,
      publishTime: m.logTimeNs,
      data: m.data,
    });
  }
  await writer.end();
  const out = new Uint8Array(Number(pos));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  await Deno.writeFile(path, out);
}

/** A ROS image message serialised as ROS 1 or CDR. */
export function rosImage(fields: RosImageFields, format: "ros1" | "cdr"): Uint8Array {
  return serializeRosImage(fields, format);
}

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function lenField(field: number, bytes: Uint8Array): number[] {
  return [...varint(BigInt((field << 3) | 2)), ...varint(BigInt(bytes.length)), ...bytes];
}

/** `foxglove.CompressedImage` as protobuf (fields written in the order 4, 3, 2, 1 to exercise the reader). */
export function foxgloveProtobuf(
  sec: number,
  nsec: number,
  frameId: string,
  format: string,
  data: Uint8Array,
) {
  const enc = new TextEncoder();
  const ts = new Uint8Array([
    ...varint(BigInt(1 << 3)),
    ...varint(BigInt(sec)),
    ...varint(BigInt(2 << 3)),
    ...varint(BigInt(nsec)),
  ]);
  return new Uint8Array([
    ...lenField(4, enc.encode(frameId)),
    ...lenField(3, enc.encode(format)),
    ...lenField(2, data),
    ...lenField(1, ts),
  ]);
}

/** `foxglove.CompressedImage` as JSON (data base64). */
export function foxgloveJson(sec: number, nsec: number, frameId: string, format: string, data: Uint8Array) {
  return new TextEncoder().encode(
    JSON.stringify({ timestamp: { sec, nsec }, frame_id: frameId, format, data: encodeBase64(data) }),
  );
}
