/**
 * Loop-closure scoring of the streaming evaluations: `src/localize/loop_metrics.ts`, re-exported where the
 * evaluations (and their tests) have always found it.
 *
 * @module
 */
export { type LoopScores, type ScoredLoopEvent, scoreLoops } from "../localize/loop_metrics.ts";
