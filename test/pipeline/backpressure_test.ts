import assert from "node:assert/strict";
import { concatMap, delay, finalize, of, tap } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { createGate, parseBackpressurePolicy } from "../../src/pipeline/backpressure.ts";
import { ValidationError } from "../../src/errors.ts";

function scheduler() {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}

Deno.test("latest-wins gate: a slow stage sees the first and the newest frames, the others are dropped and counted", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const dropped: string[] = [];
    const gate = createGate<string>({ onDrop: (v) => dropped.push(v) });
    // frames every 10 ms; the stage takes 25 ms per frame
    const frames = cold("a 9ms b 9ms c 9ms d 9ms e|");
    const out = frames.pipe(
      gate.admit,
      concatMap((v) => of(v).pipe(delay(25))),
      tap(() => gate.release()),
    );
    // a: 0->25; waiting at 25: c (b dropped at 20); c: 25->50; d dropped by e at 40; e: 50->75
    expectObservable(out).toBe("25ms a 24ms c 24ms (e|)");
    expectObservable(of(null).pipe(delay(100), tap(() => assert.deepEqual(dropped, ["b", "d"])))).toBe(
      "100ms (n|)",
      { n: null },
    );
  });
});

Deno.test("drop-newest gate keeps the waiting frame and drops new arrivals", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const dropped: string[] = [];
    const gate = createGate<string>({ policy: { kind: "drop-newest" }, onDrop: (v) => dropped.push(v) });
    const frames = cold("a 9ms b 9ms c 9ms d 9ms e|");
    const out = frames.pipe(gate.admit, concatMap((v) => of(v).pipe(delay(25))), tap(() => gate.release()));
    // b waits (c dropped); b: 25->50; d waits at 30 (e dropped at 40); d: 50->75
    expectObservable(out).toBe("25ms a 24ms b 24ms (d|)");
    expectObservable(of(null).pipe(delay(100), tap(() => assert.deepEqual(dropped, ["c", "e"])))).toBe(
      "100ms (n|)",
      { n: null },
    );
  });
});

Deno.test("bounded queue gate keeps N frames in order and drops the oldest when full", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const dropped: string[] = [];
    const gate = createGate<string>({
      policy: { kind: "queue", capacity: 2 },
      onDrop: (v) => dropped.push(v),
    });
    const frames = cold("a 9ms b 9ms c 9ms d 9ms e|");
    const out = frames.pipe(gate.admit, concatMap((v) => of(v).pipe(delay(25))), tap(() => gate.release()));
    // queue [b,c] at 20; at 25 c... a done at 25 -> b; d arrives at 30 [c,d]; e at 40 drops c -> [d,e]
    expectObservable(out).toBe("25ms a 24ms b 24ms d 24ms (e|)");
    expectObservable(of(null).pipe(delay(120), tap(() => assert.deepEqual(dropped, ["c"])))).toBe(
      "120ms (n|)",
      { n: null },
    );
  });
});

Deno.test("gate teardown unsubscribes the source and forgets the waiting frame", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const gate = createGate<string>();
    const frames = cold("a 9ms b 9ms c 9ms d|");
    let finalized = false;
    const out = frames.pipe(
      gate.admit,
      concatMap((v) => of(v).pipe(delay(25))),
      tap(() => gate.release()),
      finalize(() => (finalized = true)),
    );
    expectObservable(out, "^ 14ms !").toBe("");
    expectSubscriptions(frames.subscriptions).toBe("^ 14ms !");
    expectObservable(
      of(null).pipe(
        delay(20),
        tap(() => {
          assert.equal(gate.waiting, 0);
          assert.ok(finalized);
        }),
      ),
    ).toBe("20ms (n|)", { n: null });
  });
});

Deno.test("parseBackpressurePolicy accepts latest, drop-newest[:N], queue:N and rejects the rest", () => {
  assert.deepEqual(parseBackpressurePolicy("latest"), { kind: "latest" });
  assert.deepEqual(parseBackpressurePolicy("drop-newest"), { kind: "drop-newest", capacity: 1 });
  assert.deepEqual(parseBackpressurePolicy("queue:8"), { kind: "queue", capacity: 8 });
  assert.throws(() => parseBackpressurePolicy("queue"), ValidationError);
  assert.throws(() => parseBackpressurePolicy("queue:0"), ValidationError);
  assert.throws(() => parseBackpressurePolicy("fifo"), /latest, drop-newest/);
  assert.throws(() => createGate({ policy: { kind: "queue", capacity: -1 } }), ValidationError);
});
