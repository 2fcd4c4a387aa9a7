import assert from "node:assert/strict";
import type { VerificationEvent } from "../../src/types.ts";
import {
  verificationFailure,
  type VerificationRequest,
  VerificationRunner,
} from "../../src/pipeline/verification_runner.ts";

function request(seq: number): VerificationRequest {
  return {
    query: { seq, stamp: seq, pixels: { width: 1, height: 1, channels: 1, data: new Uint8Array(1) } },
    candidates: [{ placeId: seq, space: "map", similarity: 1 }],
  };
}

function event(seq: number): VerificationEvent {
  return { kind: "verification", stamp: seq, seq, results: [] };
}

/** A verify function whose calls are settled by hand. */
function manual() {
  const calls: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const verify = (r: VerificationRequest) =>
    new Promise<VerificationEvent>((resolve, reject) => {
      calls.push({ seq: r.query.seq, resolve: () => resolve(event(r.query.seq)), reject });
    });
  return { calls, verify };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("verification runner: one at a time, only the newest request waits, discarded ones reported", async () => {
  const { calls, verify } = manual();
  const log: string[] = [];
  const runner = new VerificationRunner({
    verify,
    onResult: (ev) => log.push(`result ${ev.seq}`),
    onError: (_e, r) => log.push(`error ${r.query.seq}`),
    onDiscard: (r) => log.push(`discard ${r.query.seq}`),
    onIdle: () => log.push("idle"),
  });
  assert.equal(runner.idle, true);
  runner.submit(request(1));
  runner.submit(request(2));
  runner.submit(request(3));
  assert.equal(runner.idle, false);
  assert.deepEqual(calls.map((c) => c.seq), [1]);
  assert.deepEqual(log, ["discard 2"]);
  calls[0].resolve();
  await tick();
  assert.deepEqual(calls.map((c) => c.seq), [1, 3]);
  calls[1].reject(new Error("boom"));
  await tick();
  assert.deepEqual(log, ["discard 2", "result 1", "error 3", "idle"]);
  assert.equal(runner.idle, true);
});

Deno.test("verification runner: once closed, outcomes are ignored and the waiting request is dropped", async () => {
  const { calls, verify } = manual();
  const log: string[] = [];
  const runner = new VerificationRunner({
    verify,
    onResult: (ev) => log.push(`result ${ev.seq}`),
    onError: (_e, r) => log.push(`error ${r.query.seq}`),
  });
  runner.submit(request(1));
  runner.submit(request(2));
  runner.close();
  calls[0].resolve();
  await tick();
  runner.submit(request(3));
  assert.deepEqual(calls.map((c) => c.seq), [1]);
  assert.deepEqual(log, []);
});

Deno.test("verificationFailure names the frame, the error and the cause", () => {
  assert.deepEqual(verificationFailure(new RangeError("no features"), 4, 1.5), {
    kind: "error",
    stamp: 1.5,
    error: "RangeError",
    cause: "verification",
    message: "verification of frame 4 failed: no features",
    seq: 4,
  });
  assert.equal(verificationFailure("timeout", 5, 0).error, "Error");
});
