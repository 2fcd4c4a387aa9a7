/**
 * Dump the geometric verification of every loop hypothesis of `eval loops` on loop datasets: for each
 * (query, match) pair the detector proposes, whether it is a true loop, the detector's and the gated
 * confidence, and what the verifier saw (keypoints, mutual matches, RANSAC inliers, inlier ratio, how the
 * inliers spread over the image, the fitted model). This is how the verifier's decision is studied on true and
 * false pairs (README, "Keyframe verification").
 *
 * Usage: deno run -A scripts/verify_loop_pairs.ts DATASET... [--out pairs.jsonl]
 */
import { parseArgs } from "node:util";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import { evaluateLoops } from "../src/eval/loops.ts";
import { createGeometricVerifier } from "../src/pipeline/geometric_verifier.ts";
import type {
  VerificationCandidate,
  VerificationQuery,
  Verifier,
} from "../src/pipeline/verification_hook.ts";
import type { PixelImage, VerificationResult } from "../src/types.ts";
import { extractLocalFeatures, verificationImage } from "../src/verify/local_features.ts";
import { verifyPair } from "../src/verify/verifier.ts";
const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { out: { type: "string" } },
});

/** Fraction of the cells of a 4x4 grid over the image that hold at least one inlier. */
function coverage(xy: number[][], w: number, h: number): number {
  const cells = new Set<number>();
  for (const [x, y] of xy) {
    cells.add(Math.min(3, Math.floor((4 * x) / w)) * 4 + Math.min(3, Math.floor((4 * y) / h)));
  }
  return cells.size / 16;
}

const lines: string[] = [];
for (const dir of positionals) {
  const ds = await readLoopDataset(dir);
  const inner = createGeometricVerifier();
  const images = new Map<number, PixelImage>();
  const pairs = new Map<number, Record<string, unknown>>();
  const verifier: Verifier = {
    remember(kf) {
      images.set(kf.placeId, verificationImage(kf.pixels, 512));
      return inner.remember(kf);
    },
    async verify(q: VerificationQuery, cands: VerificationCandidate[]) {
      const ev = await inner.verify(q, cands);
      const c = cands[0];
      const cimg = images.get(c.placeId);
      const r: VerificationResult = ev.results[0].result;
      const rec: Record<string, unknown> = {
        ok: r.ok,
        inliers: r.inliers,
        matches: r.matches,
        reason: r.reason,
      };
      if (cimg) {
        const qf = await extractLocalFeatures(verificationImage(q.pixels, 512));
        const cf = await extractLocalFeatures(cimg);
        const thr = (20 / 512) * Math.max(cf.imageWidth, cf.imageHeight);
        const p = verifyPair(qf, cf, { threshold: thr, minInliers: 0 });
        const inl: number[][] = [];
        const inlC: number[][] = [];
        if (p.correspondences) {
          for (let k = 0; k < p.correspondences.query.length; k++) {
            if (!p.correspondences.inlier[k]) continue;
            const i = p.correspondences.query[k], j = p.correspondences.candidate[k];
            inl.push([qf.keypoints[2 * i], qf.keypoints[2 * i + 1]]);
            inlC.push([cf.keypoints[2 * j], cf.keypoints[2 * j + 1]]);
          }
        }
        const m = p.transform?.matrix ?? [];
        const det = m.length ? m[0] * m[4] - m[1] * m[3] : NaN;
        Object.assign(rec, {
          w: qf.imageWidth,
          h: qf.imageHeight,
          nq: qf.count,
          nc: cf.count,
          thr: +thr.toFixed(2),
          jsInliers: p.inliers,
          jsMatches: p.matches,
          ratio: p.matches ? +(p.inliers / p.matches).toFixed(3) : 0,
          covQ: coverage(inl, qf.imageWidth, qf.imageHeight),
          covC: coverage(inlC, cf.imageWidth, cf.imageHeight),
          affine: m.length ? m.slice(0, 6).map((v) => +v.toFixed(3)) : null,
          scale: +Math.sqrt(Math.abs(det)).toFixed(3),
        });
      }
      pairs.set(q.seq, rec);
      return ev;
    },
  };
  const report = await evaluateLoops(ds, { verifier, onWarning: () => {} });
  for (const e of report.events) {
    const truth = (ds.loops[e.query] ?? []).includes(e.match);
    const rec = {
      dataset: dir,
      query: e.query,
      match: e.match,
      truth,
      loopFrame: (ds.loops[e.query] ?? []).length > 0,
      conf: +e.confidence.toFixed(3),
      gated: e.gatedConfidence === undefined ? null : +e.gatedConfidence.toFixed(3),
      accepted: e.verified ?? false,
      ...pairs.get(e.query),
    };
    lines.push(JSON.stringify(rec));
    console.log(JSON.stringify(rec));
  }
  const v = report.verifiedScores!;
  console.error(
    `${dir}: verified P ${v.precision.toFixed(3)} R@100P ${
      v.recallAt100Precision.toFixed(3)
    } events ${v.events}`,
  );
}
if (values.out) await Deno.writeTextFile(values.out, lines.join("\n") + "\n");
