/**
 * First-order optimizers over lists of Float64Array tensors: SGD with momentum (and optional weight decay) and
 * Adam. Their state is plain arrays so that a checkpoint can store and restore it exactly.
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** Which optimizer. */
export type OptimizerKind = "sgd" | "adam";

/** Optimizer options. */
export interface OptimizerOptions {
  /** "sgd" (with momentum) or "adam". Default "adam". */
  kind?: OptimizerKind;
  /** Learning rate. Default 0.001 (adam) / 0.01 (sgd). */
  lr?: number;
  /** SGD momentum. Default 0.9. */
  momentum?: number;
  /** L2 weight decay added to the gradient. Default 0. */
  weightDecay?: number;
  /** Adam beta1, beta2, epsilon. Defaults 0.9, 0.999, 1e-8. */
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Serialisable optimizer state (step count and per-tensor moment buffers). */
export interface OptimizerState {
  kind: OptimizerKind;
  step: number;
  /** SGD: velocity; Adam: first moment. */
  m: Float64Array[];
  /** Adam: second moment (empty for SGD). */
  v: Float64Array[];
}

/** An optimizer bound to a fixed list of tensor shapes. */
export interface Optimizer {
  readonly options: Required<OptimizerOptions>;
  /** Apply one update to `params` (in place) from `grads`. */
  step(params: Float64Array[], grads: Float64Array[]): void;
  /** Current state (live buffers; copy before mutating). */
  state(): OptimizerState;
  /** Replace the state (from a checkpoint). */
  load(state: OptimizerState): void;
}

/** Resolve and validate optimizer options. */
export function resolveOptimizerOptions(o: OptimizerOptions = {}): Required<OptimizerOptions> {
  const kind = o.kind ?? "adam";
  if (kind !== "sgd" && kind !== "adam") throw invalid("create optimizer", "kind", '"sgd" or "adam"', kind);
  const r: Required<OptimizerOptions> = {
    kind,
    lr: o.lr ?? (kind === "adam" ? 0.001 : 0.01),
    momentum: o.momentum ?? 0.9,
    weightDecay: o.weightDecay ?? 0,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? 1e-8,
  };
  if (!(r.lr > 0) || !Number.isFinite(r.lr)) {
    throw invalid("create optimizer", "lr", "a positive number", r.lr);
  }
  if (!(r.momentum >= 0 && r.momentum < 1)) {
    throw invalid("create optimizer", "momentum", "in [0, 1)", r.momentum);
  }
  if (!(r.weightDecay >= 0)) throw invalid("create optimizer", "weightDecay", "a number >= 0", r.weightDecay);
  if (!(r.beta1 >= 0 && r.beta1 < 1)) throw invalid("create optimizer", "beta1", "in [0, 1)", r.beta1);
  if (!(r.beta2 >= 0 && r.beta2 < 1)) throw invalid("create optimizer", "beta2", "in [0, 1)", r.beta2);
  if (!(r.eps > 0)) throw invalid("create optimizer", "eps", "a positive number", r.eps);
  return r;
}

/**
 * Create an optimizer for tensors shaped like `shapes` (their lengths).
 *
 * @example
 * ```ts
 * import { createOptimizer } from "./optim.ts";
 * const x = new Float64Array([1]);
 * const opt = createOptimizer([x], { kind: "sgd", lr: 0.1, momentum: 0 });
 * opt.step([x], [new Float64Array([2 * x[0]])]); // minimise x^2
 * console.assert(Math.abs(x[0] - 0.8) < 1e-12);
 * ```
 */
export function createOptimizer(shapes: ArrayLike<number>[], options: OptimizerOptions = {}): Optimizer {
  const o = resolveOptimizerOptions(options);
  let st: OptimizerState = {
    kind: o.kind,
    step: 0,
    m: shapes.map((t) => new Float64Array(t.length)),
    v: o.kind === "adam" ? shapes.map((t) => new Float64Array(t.length)) : [],
  };
  return {
    options: o,
    step(params, grads) {
      if (params.length !== st.m.length || grads.length !== params.length) {
        throw invalid("take an optimizer step", "params.length", `${st.m.length}`, params.length);
      }
      st.step++;
      const wd = o.weightDecay;
      if (o.kind === "sgd") {
        for (let t = 0; t < params.length; t++) {
          const p = params[t], g = grads[t], m = st.m[t];
          for (let i = 0; i < p.length; i++) {
            const gi = g[i] + wd * p[i];
            m[i] = o.momentum * m[i] + gi;
            p[i] -= o.lr * m[i];
          }
        }
        return;
      }
      const b1 = o.beta1, b2 = o.beta2;
      const c1 = 1 - Math.pow(b1, st.step);
      const c2 = 1 - Math.pow(b2, st.step);
      const stepSize = o.lr / c1;
      const sc2 = Math.sqrt(c2);
      for (let t = 0; t < params.length; t++) {
        const p = params[t], g = grads[t], m = st.m[t], v = st.v[t];
        for (let i = 0; i < p.length; i++) {
          const gi = g[i] + wd * p[i];
          m[i] = b1 * m[i] + (1 - b1) * gi;
          v[i] = b2 * v[i] + (1 - b2) * gi * gi;
          p[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / sc2 + o.eps);
        }
      }
    },
    state() {
      return st;
    },
    load(state) {
      if (state.kind !== o.kind) throw invalid("restore optimizer", "kind", `"${o.kind}"`, state.kind);
      if (state.m.length !== st.m.length || state.m.some((a, i) => a.length !== st.m[i].length)) {
        throw invalid(
          "restore optimizer",
          "state shapes",
          "those of the parameters",
          state.m.map((a) => a.length),
        );
      }
      st = {
        kind: state.kind,
        step: state.step,
        m: state.m.map((a) => a.slice()),
        v: state.v.map((a) => a.slice()),
      };
    },
  };
}
