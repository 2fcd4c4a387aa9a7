/**
 * A recording (`bag:<file>#<topic>`, `mcap:<file>#<topic>`) as dataset images, for `map build` and `eval loops`.
 *
 * The topic's frames are read as fast as the file allows and written as image files into a temporary folder
 * (JPEG/PNG as recorded; raw `sensor_msgs/Image` frames as PNG), and listed as `DatasetImage`s in record order,
 * which the map builder and the loop evaluation accept directly. Each image is named `<topic>@<sec>.<nanosec>`
 * (nine decimals: the exact header stamp, the record time where the header has none), so a map's places name the
 * message they came from; the float `stamp` is the same instant. Disposing the result removes the folder.
 *
 * Ground truth for a recording (`--truth`) is a CSV in the dataset format's `loops.csv` shape (`query,match`,
 * later frame first), each field being either a 0-based frame index in record order, a frame name as above, or
 * an image of a `sequence.csv` lying beside the CSV, which stands for the frame with the same row index (so a
 * dataset's own `loops.csv` is the truth of a recording of its `sequence.csv`).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { concatMap, lastValueFrom } from "rxjs";
import { DatasetError, invalid } from "../errors.ts";
import { fileExists } from "../_fs.ts";
import { readCsvFile } from "../dataset/csv.ts";
import type { DatasetImage, LoopDataset } from "../dataset/types.ts";
import { rawToPixels } from "../image/decode.ts";
import type { CameraFrame } from "../types.ts";
import { openFrameSource } from "./open_source.ts";
import { type ExactStamp, formatExactStamp } from "./recorded_source.ts";
import { encodeImage } from "./simulator/encode.ts";

/** True for the specs this module reads (`bag:` and `mcap:`). */
export function isRecordingSpec(spec: string): boolean {
  return /^(bag|mcap):/.test(spec);
}

/** A recording's frames as dataset images on disk; `await using` removes the folder. */
export interface RecordingImages extends AsyncDisposable {
  /** The spec as resolved by the source (`bag:<file>#<topic>`, the topic filled in when it was omitted). */
  spec: string;
  topic: string;
  /** Frames in record order; `image` is `<topic>@<sec>.<nanosec>`, `path` the file in the temporary folder. */
  images: DatasetImage[];
  /** Exact stamps, one per image. */
  stamps: ExactStamp[];
  /** Messages that could not be decoded (skipped, as the replay does). */
  errors: number;
  /** The temporary folder (removed on dispose). */
  dir: string;
}

/** Options of {@link readRecordingImages}. */
export interface RecordingImagesOptions {
  /** Called with each message that could not be decoded. Default: a warning on stderr. */
  onWarning?: (message: string) => void;
  /** Called after each frame written. */
  onProgress?: (frames: number) => void;
}

/**
 * Read every image of a recording's topic into a temporary folder (see the module doc).
 * @throws ValidationError for a spec that is not `bag:`/`mcap:` or a topic without images; DatasetError for an
 *   unreadable file or a topic with no decodable frame.
 */
export async function readRecordingImages(
  spec: string,
  options: RecordingImagesOptions = {},
): Promise<RecordingImages> {
  if (!isRecordingSpec(spec)) {
    throw invalid("read a recording", "source", "bag:<file.bag>[#topic] or mcap:<file.mcap>[#topic]", spec);
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  const source = await openFrameSource(spec, { recorded: { rate: "max" } });
  const name = (source as { name?: string }).name ?? spec;
  const topic = name.slice(name.lastIndexOf("#") + 1);
  const dir = await Deno.makeTempDir({ prefix: "waymark-recording-" });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const images: DatasetImage[] = [];
  const stamps: ExactStamp[] = [];
  const seen = new Set<string>();
  const sub = source.events().subscribe((e) => {
    if (e.kind === "error") warn(`${name}: frame skipped: ${e.message}`);
  });
  try {
    await lastValueFrom(
      source.frames().pipe(concatMap(async (frame) => {
        const stamp = exactOf(frame);
        let image = `${topic}@${formatExactStamp(stamp)}`;
        // Two messages with the same stamp keep distinct names (the second gets its record index).
        if (seen.has(image)) image += `#${images.length}`;
        seen.add(image);
        const { bytes, ext } = await imageFile(frame, image);
        const path = join(dir, `${String(images.length).padStart(6, "0")}.${ext}`);
        await Deno.writeFile(path, bytes);
        images.push({ index: images.length, image, path, stamp: stamp.sec + stamp.nsec * 1e-9 });
        stamps.push(stamp);
        options.onProgress?.(images.length);
      })),
      { defaultValue: undefined },
    );
  } catch (err) {
    await remove();
    throw err;
  } finally {
    sub.unsubscribe();
    await source.close();
  }
  const errors = source.counters.errors;
  if (images.length === 0) {
    await remove();
    throw new DatasetError(
      `${name}: no frame could be read from the topic${errors ? ` (${errors} could not be decoded)` : ""}`,
      { context: { file: name } },
    );
  }
  return { spec: name, topic, images, stamps, errors, dir, [Symbol.asyncDispose]: remove };
}

function exactOf(frame: CameraFrame): ExactStamp {
  if (frame.time) return { sec: frame.time.sec, nsec: frame.time.nanosec };
  const sec = Math.floor(frame.stamp);
  return { sec, nsec: Math.min(999_999_999, Math.round((frame.stamp - sec) * 1e9)) };
}

/** The bytes of a frame's image file: the recorded JPEG/PNG as is, a raw image encoded as PNG. */
async function imageFile(frame: CameraFrame, name: string): Promise<{ bytes: Uint8Array; ext: string }> {
  const im = frame.image;
  if (im.kind === "encoded") {
    const d = im.data;
    const ext = d[0] === 0xff && d[1] === 0xd8 ? "jpg" : d[0] === 0x89 && d[1] === 0x50 ? "png" : "img";
    return { bytes: d, ext };
  }
  const pixels = rawToPixels(im, { channels: im.encoding.startsWith("mono") ? 1 : 3, source: name });
  return { bytes: await encodeImage(pixels, "png"), ext: "png" };
}

/**
 * The loops of a recording's frames from a truth CSV (see the module doc), one sorted list of earlier frame
 * indexes per frame.
 * @throws DatasetError for a missing or malformed CSV, a field naming no frame, or a match not before its query.
 */
export async function readRecordingTruth(file: string, images: readonly DatasetImage[]): Promise<number[][]> {
  const table = await readCsvFile(file);
  const { header } = table;
  const iq = header.indexOf("query"), im = header.indexOf("match");
  if (iq < 0 || im < 0 || header.length !== 2) {
    throw new DatasetError(
      `${file}:1: header must be 'query,match': found ${JSON.stringify(header.join(","))}`,
      { context: { file, line: 1 } },
    );
  }
  const byName = new Map(images.map((f) => [f.image, f.index]));
  // A dataset's sequence.csv beside the truth: its image names stand for the frames of the same row.
  let sequence: Map<string, number> | null = null;
  const seqFile = join(dirname(file), "sequence.csv");
  const sequenceRows = async () => {
    if (sequence === null) {
      sequence = new Map();
      if (await fileExists(seqFile)) {
        const seq = await readCsvFile(seqFile);
        const col = seq.header.indexOf("image");
        if (col >= 0) seq.rows.forEach((r, i) => sequence!.set(r.fields[col], i));
      }
    }
    return sequence;
  };
  const loops = images.map(() => new Set<number>());
  for (const row of table.rows) {
    const at = (what: string) =>
      new DatasetError(`${file}:${row.line}: ${what}`, { context: { file, line: row.line } });
    const frameOf = async (field: string, what: string): Promise<number> => {
      let i: number | undefined;
      if (/^\d+$/.test(field)) i = Number(field);
      else i = byName.get(field) ?? (await sequenceRows()).get(field);
      if (i === undefined) {
        throw at(
          `${what} ${JSON.stringify(field)} names no frame: give a 0-based frame index, a frame name ` +
            `(${images[0].image}) or an image of ${seqFile}`,
        );
      }
      if (i >= images.length) {
        throw at(
          `${what} ${JSON.stringify(field)} is frame ${i}, but the recording has ${images.length} frames`,
        );
      }
      return i;
    };
    const q = await frameOf(row.fields[iq], "query"), m = await frameOf(row.fields[im], "match");
    if (m >= q) {
      throw at(
        `query ${JSON.stringify(row.fields[iq])} must come after match ${JSON.stringify(row.fields[im])}`,
      );
    }
    loops[q].add(m);
  }
  return loops.map((s) => [...s].sort((a, b) => a - b));
}

/** A recording with its truth as a loop dataset (`dir` is the spec, for reports); dispose to remove the frames. */
export async function readRecordingLoopDataset(
  spec: string,
  truthFile: string,
  options: RecordingImagesOptions = {},
): Promise<{ dataset: LoopDataset; recording: RecordingImages } & AsyncDisposable> {
  const recording = await readRecordingImages(spec, options);
  try {
    const loops = await readRecordingTruth(truthFile, recording.images);
    return {
      dataset: { dir: recording.spec, frames: recording.images, loops },
      recording,
      [Symbol.asyncDispose]: () => recording[Symbol.asyncDispose](),
    };
  } catch (err) {
    await recording[Symbol.asyncDispose]();
    throw err;
  }
}
