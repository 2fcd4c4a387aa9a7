/**
 * Issue 14 item 10: stats count every error event, by cause, one for one (the source's rejections included).
 */
import assert from "node:assert/strict";
import { from, lastValueFrom, Subject, toArray } from "rxjs";
import type { FrameSource, SourceEvent } from "../../src/io/frame_source.ts";
import { errorEvent } from "../../src/io/frame_source.ts";
import { ErrorTally } from "../../src/pipeline/error_tally.ts";
import { localize } from "../../src/pipeline/localize_pipeline.ts";
import type { Verifier } from "../../src/pipeline/verification_hook.ts";
import { withSourceEvents } from "../../src/pipeline/with_source.ts";
import type { CameraFrame, ErrorEvent, StatsEvent, WaymarkEvent } from "../../src/types.ts";
import { badFrame, codeFrame, codeMap, fakeModel, syncDecode } from "./_fakes.ts";

/** Error events by cause, counted from the events themselves. */
function countByCause(events: WaymarkEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    if (e.kind === "error") out[e.cause ?? "other"] = (out[e.cause ?? "other"] ?? 0) + 1;
  }
  return out;
}

/** Check every stats event against the error events before it on the same stream. */
function assertStatsMatchErrors(events: WaymarkEvent[]): StatsEvent {
  const seen: WaymarkEvent[] = [];
  let last: StatsEvent | undefined;
  for (const e of events) {
    if (e.kind === "stats") {
      const expected = countByCause(seen);
      assert.deepEqual(e.errorsByCause ?? {}, expected, "errorsByCause = the error events so far");
      assert.equal(e.errors, Object.values(expected).reduce((a, b) => a + b, 0), "errors = their sum");
      last = e;
    }
    seen.push(e);
  }
  assert.ok(last, "a stats event");
  return last;
}

Deno.test("stats count the pipeline's errors by the stage that failed, and verification failures", async () => {
  const verifier: Verifier = {
    verify(query) {
      return Promise.reject(new Error(`verifier down for ${query.seq}`));
    },
  };
  // Frames: good, undecodable, the model fails on code 7, good, undecodable.
  const frames = [codeFrame(0, 3), badFrame(1), codeFrame(2, 7), codeFrame(3, 9), badFrame(4)];
  const events = await lastValueFrom(
    localize(from(frames), {
      model: fakeModel({ failOn: 7 }),
      map: codeMap(20),
      decode: syncDecode,
      loops: false,
      verifier,
    }).events$.pipe(toArray()),
  );
  const errors = events.filter((e): e is ErrorEvent => e.kind === "error");
  assert.ok(errors.every((e) => e.cause !== undefined), "every pipeline error names its cause");
  const stats = assertStatsMatchErrors(events);
  assert.equal(stats.errorsByCause?.decode, 2);
  assert.equal(stats.errorsByCause?.describe, 1);
  assert.ok((stats.errorsByCause?.verification ?? 0) >= 1, JSON.stringify(stats.errorsByCause));
});

Deno.test("withSourceEvents: the source's rejections are counted in stats, one for one with the error events", async () => {
  const sourceEvents = new Subject<SourceEvent>();
  const frames = new Subject<CameraFrame>();
  const source: FrameSource = {
    name: "fake",
    counters: { frames: 0, errors: 0, connections: 1 },
    frames: () => frames,
    events: () => sourceEvents,
    close: () => Promise.resolve(),
  };
  const { events$ } = localize(source.frames(), {
    model: fakeModel(),
    map: codeMap(20),
    decode: syncDecode,
    loops: false,
    statsIntervalMs: 1e6,
  });
  const all = lastValueFrom(withSourceEvents(source, events$).pipe(toArray()));
  for (let i = 0; i < 50; i++) {
    sourceEvents.next(errorEvent(new Error(`malformed ${i}`), "fake"));
    if (i % 10 === 0) frames.next(badFrame(i));
    else frames.next(codeFrame(i, i % 20));
  }
  // A source error that names no cause counts as "source".
  const unnamed: ErrorEvent = { kind: "error", stamp: 0, error: "Error", message: "x" };
  sourceEvents.next(unnamed);
  frames.complete();
  const events = await all;
  const stats = assertStatsMatchErrors(events);
  assert.deepEqual(stats.errorsByCause, { source: 51, decode: 5 });
  assert.equal(stats.errors, events.filter((e) => e.kind === "error").length);
});

Deno.test("ErrorTally adds its counts to a stats event's own", () => {
  const t = new ErrorTally();
  t.add({ kind: "error", stamp: 0, error: "E", message: "m", cause: "source" });
  t.add({ kind: "error", stamp: 0, error: "E", message: "m" });
  const s = t.addTo({
    kind: "stats",
    stamp: 0,
    received: 1,
    processed: 1,
    dropped: 0,
    errors: 2,
    errorsByCause: { source: 1, decode: 1 },
  });
  assert.equal(s.errors, 4);
  assert.deepEqual(s.errorsByCause, { source: 2, decode: 1, other: 1 });
  assert.equal(t.total, 2);
});
