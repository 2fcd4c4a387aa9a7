/**
 * The one loop-closure score (pure): precision / recall / recall at 100% precision as
 * `docs/dataset_format.md` defines them, used by `eval loops` and by the verification tuning script (through
 * `loopMetrics` of `src/verify/eval_hooks.ts`). Latency summaries are `summarizeLatency` of `src/eval/metrics.ts`.
 *
 * @module
 */

/** One loop-closure event: frame `query` declared a loop with earlier frame `match`. */
export interface ScoredLoopEvent {
  query: number;
  match: number;
  confidence: number;
}

/** Loop-closure metrics. */
export interface LoopScores {
  events: number;
  correct: number;
  /** correct / events; NaN (undefined, "n.a.") when there is no event: no event is no evidence either way. */
  precision: number;
  recall: number;
  recallAt100Precision: number;
  /** Frames that have a true loop (the recall denominator). */
  loopFrames: number;
}

/**
 * Score loop events (at most one per frame: the best one is kept) against `truth[i]`, the earlier frames
 * frame i truly closes a loop with. Recall at 100% precision: sort by confidence, walk down until the first
 * false event; ties at the breaking confidence do not count. Precision is NaN (undefined) without events.
 *
 * @example
 * ```ts
 * import { scoreLoops } from "./loop_metrics.ts";
 * const s = scoreLoops([{ query: 2, match: 0, confidence: 0.9 }, { query: 1, match: 0, confidence: 0.5 }], [[], [], [0]]);
 * console.assert(s.recallAt100Precision === 1 && s.precision === 0.5);
 * ```
 */
export function scoreLoops(events: ScoredLoopEvent[], truth: number[][]): LoopScores {
  const best = new Map<number, ScoredLoopEvent>();
  for (const e of events) {
    const cur = best.get(e.query);
    if (!cur || e.confidence > cur.confidence) best.set(e.query, e);
  }
  const list = [...best.values()];
  const isTrue = (e: ScoredLoopEvent) => (truth[e.query] ?? []).includes(e.match);
  const loopFrames = truth.filter((t) => t.length > 0).length;
  const correct = list.filter(isTrue).length;
  const sorted = list.sort((a, b) => b.confidence - a.confidence);
  let okCount = 0, r100 = 0;
  for (let i = 0; i < sorted.length;) {
    // events sharing one confidence are accepted or rejected together
    let j = i, allTrue = true, n = 0;
    while (j < sorted.length && sorted[j].confidence === sorted[i].confidence) {
      if (!isTrue(sorted[j])) allTrue = false;
      n++;
      j++;
    }
    if (!allTrue) break;
    okCount += n;
    r100 = okCount;
    i = j;
  }
  return {
    events: list.length,
    correct,
    precision: list.length ? correct / list.length : NaN,
    recall: loopFrames ? correct / loopFrames : 0,
    recallAt100Precision: loopFrames ? r100 / loopFrames : 0,
    loopFrames,
  };
}
