import assert from "node:assert/strict";
import { LoopDetector } from "../../src/localize/loop_detector.ts";
import { Rng } from "../../src/localize/_synthetic.ts";
import { ValidationError } from "../../src/errors.ts";

const D = 128;

function unit(v: Float64Array): Float64Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
}

/**
 * A route of 100 places driven twice. Places 20..79 are a long look-alike corridor: their descriptors share a
 * dominant common component and vary slowly, so that on the first traversal a frame looks as much like the
 * frames just outside the recent window as a true revisit does: a single-frame detector fires there.
 */
function aliasedRoute(seed: number, P = 100) {
  const rng = new Rng(seed);
  const noisy = (v: Float64Array, eta: number) => v.map((x) => x + (eta / Math.sqrt(D)) * rng.normal());
  const corridor = unit(Float64Array.from({ length: D }, () => rng.normal()));
  const places: Float64Array[] = [];
  let walk = unit(Float64Array.from({ length: D }, () => rng.normal()));
  for (let p = 0; p < P; p++) {
    walk = unit(noisy(walk, 0.25));
    const inCorridor = p >= 20 && p < P - 20;
    places.push(unit(inCorridor ? walk.map((x, i) => x + 1.6 * corridor[i]) : walk));
  }
  const frames: Float64Array[] = [], placeOf: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let p = 0; p < P; p++) {
      frames.push(unit(noisy(places[p], pass === 0 ? 0.25 : 0.45)));
      placeOf.push(p);
    }
  }
  return { frames, placeOf };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Recall at 100% precision of (frame, match, confidence) events; a match within 2 places is correct. */
function recallAt100(
  events: { q: number; m: number; c: number }[],
  placeOf: number[],
  loopFrames: number,
): number {
  const sorted = [...events].sort((a, b) => b.c - a.c);
  let ok = 0;
  for (const e of sorted) {
    if (Math.abs(placeOf[e.q] - placeOf[e.m]) > 2 || e.q < loopFrames) break;
    ok++;
  }
  return ok / loopFrames;
}

Deno.test("LoopDetector keeps recall at 100% precision in a look-alike corridor where single frames fail", () => {
  for (const seed of [1, 2]) {
    const { frames, placeOf } = aliasedRoute(seed);
    const det = new LoopDetector();
    const seqEvents: { q: number; m: number; c: number }[] = [];
    const singleEvents: { q: number; m: number; c: number }[] = [];
    for (let t = 0; t < frames.length; t++) {
      const bound = det.excludeBefore(t);
      const ids: number[] = [], sims: number[] = [], recent: number[] = [];
      for (let j = 0; j < bound; j++) {
        ids.push(j);
        sims.push(dot(frames[t], frames[j]));
      }
      for (let j = bound; j < t; j++) recent.push(dot(frames[t], frames[j]));
      const h = det.observe(t, { ids, similarities: sims, recent });
      if (h) seqEvents.push({ q: t, m: h.match, c: h.confidence });
      if (ids.length > 0) {
        let b = 0;
        for (let i = 1; i < ids.length; i++) if (sims[i] > sims[b]) b = i;
        singleEvents.push({ q: t, m: ids[b], c: sims[b] });
      }
    }
    const seqR = recallAt100(seqEvents, placeOf, 100);
    const singleR = recallAt100(singleEvents, placeOf, 100);
    assert.ok(singleR <= 0.1, `single-frame recall@100%P should be poor here, got ${singleR}`);
    assert.ok(
      seqR >= 0.15 && seqR > 2 * singleR,
      `sequence detector recall@100%P ${seqR} (single ${singleR})`,
    );
    assert.ok(seqEvents.every((e) => e.q >= 100), "no event on the first pass");
    assert.ok(seqEvents.every((e) => Math.abs(placeOf[e.q] - placeOf[e.m]) <= 2), "every event correct");
  }
});

Deno.test("LoopDetector ignores the recent window and needs consecutive consistent frames", () => {
  const det = new LoopDetector({
    excludeRecent: 3,
    minCandidates: 2,
    minConsistent: 2,
    threshold: 0,
    drift: 0,
    recentCount: 0,
  });
  assert.equal(det.excludeBefore(10), 7);
  // ids at or above the bound are ignored even when very similar
  const ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const sims: number[] = ids.map((j) => (j >= 7 ? 0.99 : 0.1));
  assert.equal(det.observe(10, { ids, similarities: sims }), null);
  // one strong frame is not enough (length 1), the next consistent one is
  sims.fill(0.1);
  sims[2] = 0.9;
  assert.equal(det.observe(11, { ids, similarities: sims }), null);
  sims[2] = 0.1;
  sims[3] = 0.9;
  const h = det.observe(12, { ids, similarities: sims });
  assert.ok(h);
  assert.equal(h.match, 3);
  assert.equal(h.length, 3 - 1);
  assert.ok(h.confidence > 0 && h.confidence < 1);
});

Deno.test("LoopDetector validates options and observation order", () => {
  assert.throws(() => new LoopDetector({ excludeRecent: -1 }), ValidationError);
  assert.throws(() => new LoopDetector({ decay: 0 }), /'decay' must be a number in \(0, 1\]/);
  const det = new LoopDetector();
  det.observe(5, { ids: [], similarities: [] });
  assert.throws(() => det.observe(5, { ids: [], similarities: [] }), /'query' must be an integer above/);
  assert.throws(() => det.observe(6, { ids: [1], similarities: [] }), ValidationError);
});

/** Feed `steps` keyframes whose best match is `matchOf(t)` (similarity 0.9, others 0.1); hypotheses out. */
function runTrack(det: LoopDetector, start: number, steps: number, matchOf: (t: number) => number) {
  const out = [];
  for (let t = 0; t < steps; t++) {
    const query = start + t;
    const ids = Array.from({ length: 30 }, (_, i) => i);
    const sims = ids.map((i) => (i === matchOf(t) ? 0.9 : 0.1 + 0.01 * (i % 3)));
    out.push(det.observe(query, { ids, similarities: sims }));
  }
  return out;
}

Deno.test("LoopDetector needs matches that advance over several map places, not one place over and over", () => {
  // A robot standing in front of a look-alike of place 12: consistent in time, but no distance in the map.
  const still = runTrack(new LoopDetector({ excludeRecent: 2 }), 40, 8, () => 12);
  assert.ok(still.every((h) => h === null), "a single place matched again and again is no loop");
  // The same evidence on places that advance with the query: a loop, surer the farther it has advanced.
  const moving = runTrack(new LoopDetector({ excludeRecent: 2 }), 40, 8, (t) => 10 + t);
  const hyps = moving.filter((h) => h !== null);
  assert.ok(hyps.length >= 5, `hypotheses ${hyps.length}`);
  for (let i = 1; i < hyps.length; i++) {
    assert.ok(hyps[i]!.span > hyps[i - 1]!.span && hyps[i]!.confidence > hyps[i - 1]!.confidence);
  }
  assert.equal(hyps.at(-1)!.span, hyps.at(-1)!.match - 10);
  // minSpan asks for more map distance before the first hypothesis.
  const far = runTrack(new LoopDetector({ excludeRecent: 2, minSpan: 4 }), 40, 8, (t) => 10 + t);
  const first = far.findIndex((h) => h !== null);
  assert.equal(far[first]!.span, 4);
  assert.ok(first > moving.findIndex((h) => h !== null));
  assert.throws(() => new LoopDetector({ spanScale: 0 }), ValidationError);
  assert.throws(() => new LoopDetector({ minSpan: -1 }), ValidationError);
});

/**
 * Feed keyframes `start + t` whose similarity row over 40 map places is `row(t)` (a background of 0.1 with a
 * small deterministic ripple under whatever `row` sets); hypotheses out.
 */
function runRows(det: LoopDetector, start: number, steps: number, row: (t: number, sims: number[]) => void) {
  const out = [];
  for (let t = 0; t < steps; t++) {
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const sims = ids.map((i) => 0.1 + 0.01 * (i % 3));
    row(t, sims);
    out.push(det.observe(start + t, { ids, similarities: sims }));
  }
  return out;
}

Deno.test("LoopDetector names the place its run aligns the query with, not a neighbour one frame prefers", () => {
  // A revisit of places 5, 6, 7, ... at one place a frame; at frame 8 the neighbour ahead looks a little
  // more like the query than the place itself does (the next place's view is already in sight).
  const hyps = runRows(new LoopDetector({ excludeRecent: 2 }), 60, 10, (t, s) => {
    s[5 + t] = 0.9;
    s[4 + t] = s[6 + t] = 0.5;
    if (t === 8) {
      s[5 + t] = 0.86;
      s[6 + t] = 0.9;
    }
  });
  assert.equal(hyps[8]?.match, 13, "the place on the run's line");
  assert.ok(Math.abs(hyps[8]!.similarity - 0.86) < 1e-9, "with its own similarity");
  // Without alignment the frame's own best match is named.
  const raw = runRows(new LoopDetector({ excludeRecent: 2, alignPenalty: -1 }), 60, 10, (t, s) => {
    s[5 + t] = 0.9;
    s[4 + t] = s[6 + t] = 0.5;
    if (t === 8) {
      s[5 + t] = 0.86;
      s[6 + t] = 0.9;
    }
  });
  assert.equal(raw[8]?.match, 14);
  // A clear peak away from the line (the robot sped up: two places in one frame) is followed.
  const jump = runRows(new LoopDetector({ excludeRecent: 2 }), 60, 10, (t, s) => {
    const p = t < 8 ? 5 + t : 7 + t;
    s[p] = 0.9;
  });
  assert.equal(jump[8]?.match, 15);
  assert.throws(() => new LoopDetector({ alignPenalty: Number.NaN }), ValidationError);
});

Deno.test("LoopDetector: a frame that barely resembles the place lowers the loop's confidence", () => {
  const run = (last: number) =>
    runRows(new LoopDetector({ excludeRecent: 2 }), 60, 10, (t, s) => {
      s[5 + t] = t === 9 ? last : 0.9;
    })[9];
  // 0.13 is the top of the background's ripple: this frame shows the place no better than other places.
  const strong = run(0.9), weak = run(0.13);
  assert.ok(strong && weak, "both still hypotheses (the track's evidence carries the weak frame)");
  assert.equal(weak.match, strong.match);
  assert.ok(weak.z < strong.z);
  assert.ok(
    weak.confidence < 0.8 * strong.confidence,
    `weak ${weak.confidence}, strong ${strong.confidence}`,
  );
  assert.throws(() => new LoopDetector({ zScale: 0 }), ValidationError);
});

Deno.test("LoopDetector skips a frame that resembles every place equally instead of ending its tracks", () => {
  // A run along places 10, 11, 12, ... with one uninformative frame (an all-zero descriptor: every similarity
  // 0) in the middle: the track survives it and the next frame may advance over the skipped place.
  const feed = (blank: boolean) => {
    const det = new LoopDetector({ excludeRecent: 2 });
    const out = [];
    for (let t = 0; t < 8; t++) {
      const ids = Array.from({ length: 30 }, (_, i) => i);
      const sims = blank && t === 4
        ? ids.map(() => 0)
        : ids.map((i) => (i === 10 + t ? 0.9 : 0.1 + 0.01 * (i % 3)));
      out.push(det.observe(40 + t, { ids, similarities: sims }));
    }
    return out;
  };
  const plain = feed(false), gapped = feed(true);
  assert.equal(gapped[4], null, "no hypothesis from a frame that shows nothing");
  assert.ok(gapped[5] && gapped[5].match === 15, "the track continues past the blank frame");
  assert.equal(gapped[5]!.span, plain[5]!.span);
  // The blank frame still counts for the order check.
  const det = new LoopDetector({ excludeRecent: 2 });
  det.observe(7, { ids: [0, 1, 2], similarities: [0, 0, 0] });
  assert.throws(() => det.observe(7, { ids: [0, 1, 2], similarities: [0.1, 0.2, 0.3] }), /'query' must be/);
});

Deno.test("LoopDetector skips a frame whose descriptor rests on almost nothing (descriptor support)", () => {
  // A run along places 10, 11, 12, ... (similarity 0.9, background about 0.1, support 0.5). Frame 4's descriptor
  // rests on little of the image and shows nothing of the place (background only): at a support of 0.01 (a 50th
  // of the typical) it is skipped like a blank frame, at 0.2 (weak, but a real view) it counts against the track.
  const feed = (weakSupport: number | undefined, options = {}) => {
    const det = new LoopDetector({ excludeRecent: 2, ...options });
    const out = [];
    for (let t = 0; t < 8; t++) {
      const ids = Array.from({ length: 30 }, (_, i) => i);
      const weak = t === 4;
      const sims = ids.map((i) => (!weak && i === 10 + t ? 0.9 : 0.1 + 0.01 * (i % 3)));
      const support = weakSupport === undefined ? undefined : weak ? weakSupport : 0.5;
      out.push(det.observe(40 + t, { ids, similarities: sims, support }));
    }
    return out;
  };
  const none = feed(undefined), faint = feed(0.01), weak = feed(0.2);
  assert.equal(faint[4], null, "no hypothesis from a frame that shows nothing");
  assert.ok(faint[5] && none[5] && faint[5].match === 15, "the track continues past the skipped frame");
  // Skipped: the next frame adds to the evidence from before it (decayed once), as after a missing keyframe.
  assert.ok(Math.abs(faint[5]!.evidence - (0.9 * faint[3]!.evidence + faint[5]!.z - 1.75)) < 1e-9);
  assert.ok(faint[5]!.evidence > none[5]!.evidence);
  // Not skipped: a weak but real frame, a frame without a support, or with skipping off.
  assert.deepEqual(weak, none);
  assert.deepEqual(feed(0.01, { skipSupport: 0 }), none);
  assert.throws(() => new LoopDetector({ skipSupport: 1 }), ValidationError);
  assert.throws(() => new LoopDetector({ supportWindow: 0 }), ValidationError);
  assert.throws(
    () => new LoopDetector().observe(0, { ids: [], similarities: [], support: NaN }),
    /'support' must be a finite number/,
  );
});

Deno.test("LoopDetector: the typical support follows the recent frames (a dark stretch is skipped only until it is typical)", () => {
  // Day frames at support 0.5, then a long stretch at 0.02 (a 25th of it): the first frames of the stretch are
  // far below the typical support and skipped, and once the stretch is typical its frames count again.
  const det = new LoopDetector({ excludeRecent: 2, supportWindow: 6 });
  const out = [];
  for (let t = 0; t < 16; t++) {
    const ids = Array.from({ length: 30 }, (_, i) => i);
    const sims = ids.map((i) => (i === 5 + t ? 0.9 : 0.1 + 0.01 * (i % 3)));
    out.push(det.observe(40 + t, { ids, similarities: sims, support: t < 6 ? 0.5 : 0.02 }));
  }
  assert.ok(out[5], "the day run is a hypothesis");
  assert.equal(out[6], null, "the first dark frame is skipped");
  assert.ok(out[15] && out[15].match === 20, "the dark stretch, once typical, carries the track");
});
