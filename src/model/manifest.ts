/**
 * Model manifests: the JSON file next to an ONNX model that says what it computes (input size, layout,
 * normalisation, output names and sizes) and pins its exact bytes (sha256). Loading checks the manifest,
 * the file's hash and that the ONNX session agrees with the manifest; any mismatch is a
 * {@link ModelLoadError} naming the file, what was expected and what was found.
 *
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import type { IoMetadata, RuntimeSession } from "./runtime.ts";

/** Manifest format tag. */
export const MANIFEST_FORMAT = "waymark-model";
/** Manifest format version written by this code. */
export const MANIFEST_VERSION = 1;

/** The model's image input. */
export interface ManifestInput {
  /** ONNX input name. */
  name: string;
  width: number;
  height: number;
  channels: 1 | 3;
  layout: "NCHW";
  /** Per channel, applied to pixel / 255: (pixel / 255 - mean) / std. */
  mean: number[];
  std: number[];
}

/** The global descriptor output ([N, dim], L2-normalised by the model or by Waymark). */
export interface ManifestGlobalOutput {
  name: string;
  dim: number;
}

/** The optional dense local descriptor output ([N, dim, h, w] or [N, h, w, dim]). */
export interface ManifestLocalOutput {
  name: string;
  dim: number;
  /** Axis order of the output. Default "NCHW". */
  layout?: "NCHW" | "NHWC";
  /** Input pixels between grid points. */
  stride: number;
  /** Input pixel coordinate of grid point 0. */
  offset: number;
}

/** A model manifest (`manifest.json` or `<name>.json` in a model folder). */
export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  name: string;
  /** ONNX file, relative to the manifest. */
  file: string;
  /** Hex sha256 of the ONNX file. */
  sha256: string;
  input: ManifestInput;
  outputs: { global: ManifestGlobalOutput; local?: ManifestLocalOutput };
  /** Global descriptor length (equals outputs.global.dim). */
  descriptorDim: number;
  /** ISO 8601 creation time. */
  created: string;
  description: string;
  /** Free-form provenance (preset, clusters, variant, PCA dim…). */
  provenance?: Record<string, unknown>;
}

/** A model in memory: its manifest and ONNX bytes. */
export interface ModelBundle {
  manifest: ModelManifest;
  onnx: Uint8Array;
}

/** The fields of a new manifest that differ between models (see {@link createManifest}). */
export interface ManifestFields {
  name: string;
  input: ManifestInput;
  outputs: ModelManifest["outputs"];
  description: string;
  provenance?: Record<string, unknown>;
}

/**
 * The manifest of a newly built model: format and version, `file: "model.onnx"`, the sha256 of `onnx`,
 * `descriptorDim` from the global output, the creation time, and the given fields (in the order
 * `manifest.json` has always listed them). Every model the project builds (default model, trained heads)
 * gets its manifest here.
 *
 * @example
 * ```ts
 * import { createManifest } from "./manifest.ts";
 * const m = await createManifest(new Uint8Array([1, 2]), {
 *   name: "m",
 *   input: { name: "image", width: 4, height: 4, channels: 1, layout: "NCHW", mean: [0], std: [1] },
 *   outputs: { global: { name: "global", dim: 8 } },
 *   description: "example",
 * });
 * console.assert(m.descriptorDim === 8 && m.sha256.length === 64);
 * ```
 */
export async function createManifest(onnx: Uint8Array, fields: ManifestFields): Promise<ModelManifest> {
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    name: fields.name,
    file: "model.onnx",
    sha256: await sha256Hex(onnx),
    input: fields.input,
    outputs: fields.outputs,
    descriptorDim: fields.outputs.global.dim,
    created: new Date().toISOString(),
    description: fields.description,
  };
  if (fields.provenance) manifest.provenance = fields.provenance;
  return manifest;
}

/** Hex sha256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fail(file: string, what: string): never {
  throw new ModelLoadError(`Cannot load model manifest ${file}: ${what}`, { context: { file } });
}

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/**
 * Validate a parsed manifest object; returns it typed. `file` names it in messages.
 *
 * @example
 * ```ts
 * import { validateManifest } from "./manifest.ts";
 * try { validateManifest({}, "m.json"); } catch (e) { console.assert((e as Error).name === "ModelLoadError"); }
 * ```
 */
export function validateManifest(obj: unknown, file: string): ModelManifest {
  if (typeof obj !== "object" || obj === null) fail(file, "expected a JSON object");
  const m = obj as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) {
    fail(file, `'format' must be "${MANIFEST_FORMAT}", found ${JSON.stringify(m.format)}`);
  }
  if (m.formatVersion !== MANIFEST_VERSION) {
    fail(
      file,
      `unsupported 'formatVersion' ${
        JSON.stringify(m.formatVersion)
      } (this Waymark reads ${MANIFEST_VERSION})`,
    );
  }
  for (const key of ["name", "file", "sha256", "description", "created"]) {
    if (typeof m[key] !== "string") fail(file, `'${key}' must be a string, found ${JSON.stringify(m[key])}`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.sha256 as string)) fail(file, "'sha256' must be 64 lowercase hex digits");
  const input = m.input as Record<string, unknown> | undefined;
  if (typeof input !== "object" || input === null) fail(file, "'input' must be an object");
  if (typeof input.name !== "string") fail(file, "'input.name' must be a string");
  if (!isPosInt(input.width) || !isPosInt(input.height)) {
    fail(
      file,
      `'input.width'/'input.height' must be positive integers, found ${input.width}x${input.height}`,
    );
  }
  if (input.channels !== 1 && input.channels !== 3) {
    fail(file, `'input.channels' must be 1 or 3, found ${input.channels}`);
  }
  if (input.layout !== "NCHW") {
    fail(file, `'input.layout' must be "NCHW", found ${JSON.stringify(input.layout)}`);
  }
  for (const key of ["mean", "std"]) {
    const v = input[key];
    if (
      !Array.isArray(v) || v.length !== input.channels ||
      !v.every((x) => typeof x === "number" && isFinite(x))
    ) {
      fail(file, `'input.${key}' must be ${input.channels} numbers, found ${JSON.stringify(v)}`);
    }
  }
  if ((input.std as number[]).some((s) => s === 0)) fail(file, "'input.std' must not contain 0");
  const outputs = m.outputs as Record<string, Record<string, unknown>> | undefined;
  if (typeof outputs !== "object" || outputs === null || typeof outputs.global !== "object") {
    fail(file, "'outputs.global' must be an object");
  }
  if (typeof outputs.global.name !== "string" || !isPosInt(outputs.global.dim)) {
    fail(file, "'outputs.global' must have a string 'name' and a positive integer 'dim'");
  }
  if (outputs.local !== undefined) {
    const l = outputs.local;
    if (
      typeof l.name !== "string" || !isPosInt(l.dim) || typeof l.stride !== "number" ||
      typeof l.offset !== "number"
    ) {
      fail(
        file,
        "'outputs.local' must have 'name', a positive integer 'dim', and numbers 'stride', 'offset'",
      );
    }
    if (l.layout !== undefined && l.layout !== "NCHW" && l.layout !== "NHWC") {
      fail(file, `'outputs.local.layout' must be "NCHW" or "NHWC", found ${JSON.stringify(l.layout)}`);
    }
  }
  if (m.descriptorDim !== outputs.global.dim) {
    fail(
      file,
      `'descriptorDim' (${m.descriptorDim}) must equal 'outputs.global.dim' (${outputs.global.dim})`,
    );
  }
  return m as unknown as ModelManifest;
}

/** Read and validate a manifest file. */
export async function readManifest(path: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ModelLoadError(`Cannot load model manifest ${path}: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`Cannot load model manifest ${path}: invalid JSON (${(err as Error).message})`, {
      cause: err,
      context: { file: path },
    });
  }
  return validateManifest(obj, path);
}

/** Throw unless the bytes hash to the manifest's sha256. */
export async function checkSha256(bytes: Uint8Array, manifest: ModelManifest, file: string): Promise<string> {
  const found = await sha256Hex(bytes);
  if (found !== manifest.sha256) {
    throw new ModelLoadError(
      `Cannot load model ${file}: sha256 mismatch, manifest expects ${manifest.sha256} but the file has ${found}`,
      { context: { file } },
    );
  }
  return found;
}

function describeIo(io: IoMetadata): string {
  return `${io.name} ${io.type}[${io.shape.join(",")}]`;
}

function checkIo(
  file: string,
  role: string,
  list: IoMetadata[],
  name: string,
  rank: number,
  staticDims: Record<number, number>,
): void {
  const io = list.find((x) => x.name === name);
  if (!io) {
    throw new ModelLoadError(
      `Cannot load model ${file}: the manifest expects ${role} '${name}', the model has ${
        list.map(describeIo).join("; ") || "none"
      }`,
      { context: { file } },
    );
  }
  if (io.type !== "float32") {
    throw new ModelLoadError(
      `Cannot load model ${file}: ${role} '${name}' must be float32, found ${io.type}`,
      {
        context: { file },
      },
    );
  }
  if (io.shape.length !== rank) {
    throw new ModelLoadError(
      `Cannot load model ${file}: ${role} '${name}' must have rank ${rank}, found [${io.shape.join(",")}]`,
      { context: { file } },
    );
  }
  for (const [axis, want] of Object.entries(staticDims)) {
    const got = io.shape[Number(axis)];
    if (typeof got === "number" && got > 0 && got !== want) {
      throw new ModelLoadError(
        `Cannot load model ${file}: ${role} '${name}' dimension ${axis} must be ${want} per the manifest, found ${got}`,
        { context: { file } },
      );
    }
  }
}

/** Check a session's declared inputs and outputs against the manifest (names, ranks, types, static sizes). */
export function checkSessionAgainstManifest(
  session: RuntimeSession,
  manifest: ModelManifest,
  file: string,
): void {
  const inp = manifest.input;
  checkIo(file, "input", session.inputs, inp.name, 4, { 1: inp.channels, 2: inp.height, 3: inp.width });
  checkIo(file, "output", session.outputs, manifest.outputs.global.name, 2, { 1: manifest.descriptorDim });
  const local = manifest.outputs.local;
  if (local) {
    checkIo(file, "output", session.outputs, local.name, 4, { [local.layout === "NHWC" ? 3 : 1]: local.dim });
  }
}

/** Check the dims a model actually produced (after warm-up) against the manifest. */
export function checkOutputDims(
  outputs: Record<string, { dims: number[] }>,
  manifest: ModelManifest,
  file: string,
  batch: number,
): void {
  const g = outputs[manifest.outputs.global.name];
  const want = [batch, manifest.descriptorDim];
  if (!g || g.dims.length !== 2 || g.dims[0] !== want[0] || g.dims[1] !== want[1]) {
    throw new ModelLoadError(
      `Cannot load model ${file}: output '${manifest.outputs.global.name}' must be [${want}] for a batch of ${batch}, the model produced [${
        g?.dims.join(",") ?? "nothing"
      }]`,
      { context: { file } },
    );
  }
  const local = manifest.outputs.local;
  if (local) {
    const l = outputs[local.name];
    const axis = local.layout === "NHWC" ? 3 : 1;
    if (!l || l.dims.length !== 4 || l.dims[axis] !== local.dim) {
      const want = local.layout === "NHWC" ? `${batch},h,w,${local.dim}` : `${batch},${local.dim},h,w`;
      throw new ModelLoadError(
        `Cannot load model ${file}: output '${local.name}' must be [${want}], the model produced [${
          l?.dims.join(",") ?? "nothing"
        }]`,
        { context: { file } },
      );
    }
  }
}
