/**
 * Training checkpoints: everything needed to resume a run exactly (head parameters, best parameters so far,
 * optimizer state, epoch, PRNG state, history, early-stopping counters). Stored as `checkpoint.json` (metadata
 * and tensor table) plus `checkpoint-<epoch>.bin` (the float64 tensors, little-endian) that the json names.
 * The bin is written first under its new name, then the json is written to a temporary file and renamed over
 * the old one (atomic), then the previous bin is removed: a crash at any point leaves a consistent checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { TrainingError } from "../errors.ts";
import type { HeadParams } from "./netvlad_grad.ts";
import type { OptimizerState } from "./optim.ts";

/** Checkpoint format version. */
export const CHECKPOINT_VERSION = 1;

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  /** Mean ranking loss per training tuple during the epoch. */
  loss: number;
  /** Validation Recall@1 after the epoch (NaN when there is no validation split). */
  recallAt1: number;
  /**
   * Validation separation after the epoch: mean over validation queries of (best similarity to a true match -
   * best similarity to any other database image); breaks Recall@1 ties when choosing the best epoch.
   */
  separation?: number;
  /** Seconds the epoch took (training steps + cache refresh + validation). */
  seconds: number;
}

/** The full training state. */
export interface TrainingState {
  /** Last completed epoch (0 = none yet, only initialised). */
  epoch: number;
  params: HeadParams;
  /** Parameters with the best validation Recall@1 so far. */
  best: HeadParams;
  bestRecallAt1: number;
  /** Validation separation of the best parameters (see {@linkcode EpochRecord.separation}). */
  bestSeparation: number;
  bestEpoch: number;
  /** Validation Recall@1 of the initial parameters. */
  initialRecallAt1: number;
  epochsWithoutImprovement: number;
  optimizer: OptimizerState;
  rngState: number[];
  history: EpochRecord[];
  /** True once early stopping triggered (a resume then does nothing more). */
  stopped: boolean;
  /** Fingerprint of the options that must not change across a resume. */
  fingerprint: string;
}

interface TensorEntry {
  name: string;
  offset: number;
  length: number;
}

interface HeadMeta {
  K: number;
  C: number;
  outDim: number | null;
  powerNorm?: boolean;
}

function headTensors(prefix: string, p: HeadParams): [string, Float64Array][] {
  const t: [string, Float64Array][] = [
    [`${prefix}.weight`, p.weight],
    [`${prefix}.bias`, p.bias],
    [`${prefix}.centres`, p.centres],
  ];
  if (p.whitening) {
    t.push([`${prefix}.whitening.matrix`, p.whitening.matrix], [
      `${prefix}.whitening.mean`,
      p.whitening.mean,
    ]);
  }
  return t;
}

function headMeta(p: HeadParams): HeadMeta {
  return { K: p.K, C: p.C, outDim: p.whitening ? p.whitening.outDim : null, powerNorm: !!p.powerNorm };
}

/** Serialise a training state to (json text, binary bytes). */
export function encodeCheckpoint(s: TrainingState): { json: string; bin: Uint8Array } {
  const tensors: [string, Float64Array][] = [
    ...headTensors("params", s.params),
    ...headTensors("best", s.best),
    ...s.optimizer.m.map((a, i): [string, Float64Array] => [`optimizer.m.${i}`, a]),
    ...s.optimizer.v.map((a, i): [string, Float64Array] => [`optimizer.v.${i}`, a]),
  ];
  let total = 0;
  const table: TensorEntry[] = tensors.map(([name, a]) => {
    const e = { name, offset: total, length: a.length };
    total += a.length;
    return e;
  });
  const buf = new Float64Array(total);
  tensors.forEach(([, a], i) => buf.set(a, table[i].offset));
  const bytes = new Uint8Array(buf.buffer);
  // Float64Array uses the platform's byte order; every platform Deno runs on is little-endian.
  const meta = {
    version: CHECKPOINT_VERSION,
    epoch: s.epoch,
    params: headMeta(s.params),
    best: headMeta(s.best),
    bestRecallAt1: s.bestRecallAt1,
    bestSeparation: s.bestSeparation,
    bestEpoch: s.bestEpoch,
    initialRecallAt1: s.initialRecallAt1,
    epochsWithoutImprovement: s.epochsWithoutImprovement,
    optimizer: {
      kind: s.optimizer.kind,
      step: s.optimizer.step,
      m: s.optimizer.m.length,
      v: s.optimizer.v.length,
    },
    rngState: s.rngState,
    history: s.history,
    stopped: s.stopped,
    fingerprint: s.fingerprint,
    tensors: table,
    binFile: `checkpoint-${s.epoch}.bin`,
    binBytes: bytes.length,
  };
  // NaN is not JSON: encode recall values that may be NaN as null.
  const json = JSON.stringify(meta, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1);
  return { json, bin: bytes };
}

function num(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

/** Inverse of {@linkcode encodeCheckpoint}. `file` names the checkpoint in error messages. */
export function decodeCheckpoint(json: string, bin: Uint8Array, file = "checkpoint"): TrainingState {
  const bad = (why: string) => new TrainingError(`Cannot resume from ${file}: ${why}`, { context: { file } });
  // deno-lint-ignore no-explicit-any
  let meta: any;
  try {
    meta = JSON.parse(json);
  } catch (e) {
    throw bad(`checkpoint.json is not valid JSON (${(e as Error).message})`);
  }
  if (meta?.version !== CHECKPOINT_VERSION) throw bad(`unknown version ${JSON.stringify(meta?.version)}`);
  if (bin.length !== meta.binBytes || bin.length % 8 !== 0) {
    throw bad(`${meta.binFile} has ${bin.length} bytes, expected ${meta.binBytes} (truncated or mismatched)`);
  }
  const all = new Float64Array(bin.slice().buffer);
  const map = new Map<string, Float64Array>();
  for (const e of meta.tensors as TensorEntry[]) {
    if (e.offset + e.length > all.length) throw bad(`tensor ${e.name} lies outside checkpoint.bin`);
    map.set(e.name, all.slice(e.offset, e.offset + e.length));
  }
  const get = (name: string, length: number): Float64Array => {
    const a = map.get(name);
    if (!a) throw bad(`tensor ${name} is missing`);
    if (a.length !== length) throw bad(`tensor ${name} has ${a.length} values, expected ${length}`);
    return a;
  };
  const head = (prefix: string, m: HeadMeta): HeadParams => {
    const KC = m.K * m.C;
    return {
      K: m.K,
      C: m.C,
      weight: get(`${prefix}.weight`, KC),
      bias: get(`${prefix}.bias`, m.K),
      centres: get(`${prefix}.centres`, KC),
      powerNorm: !!m.powerNorm,
      whitening: m.outDim === null ? undefined : {
        outDim: m.outDim,
        matrix: get(`${prefix}.whitening.matrix`, m.outDim * KC),
        mean: get(`${prefix}.whitening.mean`, KC),
      },
    };
  };
  const params = head("params", meta.params);
  const mList: Float64Array[] = [];
  const vList: Float64Array[] = [];
  for (let i = 0; i < meta.optimizer.m; i++) {
    mList.push(
      map.get(`optimizer.m.${i}`) ?? (() => {
        throw bad(`optimizer.m.${i} missing`);
      })(),
    );
  }
  for (let i = 0; i < meta.optimizer.v; i++) {
    vList.push(
      map.get(`optimizer.v.${i}`) ?? (() => {
        throw bad(`optimizer.v.${i} missing`);
      })(),
    );
  }
  return {
    epoch: meta.epoch,
    params,
    best: head("best", meta.best),
    bestRecallAt1: num(meta.bestRecallAt1),
    bestSeparation: num(meta.bestSeparation),
    bestEpoch: meta.bestEpoch,
    initialRecallAt1: num(meta.initialRecallAt1),
    epochsWithoutImprovement: meta.epochsWithoutImprovement,
    optimizer: { kind: meta.optimizer.kind, step: meta.optimizer.step, m: mList, v: vList },
    rngState: meta.rngState,
    history: (meta.history as EpochRecord[]).map((h) => ({
      ...h,
      loss: num(h.loss),
      recallAt1: num(h.recallAt1),
      separation: num(h.separation),
    })),
    stopped: !!meta.stopped,
    fingerprint: String(meta.fingerprint),
  };
}

/** Write a checkpoint into `dir` atomically (see the module doc). */
export async function saveCheckpoint(dir: string, s: TrainingState): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { json, bin } = encodeCheckpoint(s);
  const jsonPath = join(dir, "checkpoint.json");
  const binName = `checkpoint-${s.epoch}.bin`;
  let previous: string | null = null;
  try {
    previous = JSON.parse(await Deno.readTextFile(jsonPath)).binFile ?? null;
  } catch { /* no previous checkpoint */ }
  await Deno.writeFile(join(dir, binName + ".tmp"), bin);
  await Deno.rename(join(dir, binName + ".tmp"), join(dir, binName));
  await Deno.writeTextFile(jsonPath + ".tmp", json);
  await Deno.rename(jsonPath + ".tmp", jsonPath);
  if (previous && previous !== binName && /^checkpoint-\d+\.bin$/.test(previous)) {
    await Deno.remove(join(dir, previous)).catch(() => {});
  }
}

/** Read the checkpoint in `dir`, or null when there is none. Throws TrainingError when it is corrupt. */
export async function loadCheckpoint(dir: string): Promise<TrainingState | null> {
  const jsonPath = join(dir, "checkpoint.json");
  let json: string;
  try {
    json = await Deno.readTextFile(jsonPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let binFile = "checkpoint.bin";
  try {
    binFile = String(JSON.parse(json).binFile ?? binFile);
  } catch { /* decodeCheckpoint reports the bad JSON */ }
  let bin: Uint8Array = new Uint8Array(0);
  try {
    if (/^checkpoint-\d+\.bin$/.test(binFile)) bin = await Deno.readFile(join(dir, binFile));
  } catch (e) {
    throw new TrainingError(`Cannot resume from ${jsonPath}: ${binFile} is unreadable`, { cause: e });
  }
  return decodeCheckpoint(json, bin, jsonPath);
}
