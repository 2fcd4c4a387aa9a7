import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { backoffDelayMs, resolveBackoff } from "../../src/io/backoff.ts";

Deno.test("backoffDelayMs() grows exponentially and is capped", () => {
  const o = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, factor: 3, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, o)), [100, 300, 900, 1000, 1000]);
});

Deno.test("backoffDelayMs() jitter stays within bounds and is reproducible with a seed", () => {
  const a = resolveBackoff({ initialDelayMs: 1000, maxDelayMs: 1500, jitter: 0.5, seed: 42 });
  const b = resolveBackoff({ initialDelayMs: 1000, maxDelayMs: 1500, jitter: 0.5, seed: 42 });
  const da = Array.from({ length: 50 }, () => backoffDelayMs(1, a));
  const db = Array.from({ length: 50 }, () => backoffDelayMs(1, b));
  assert.deepEqual(da, db);
  assert.ok(da.every((d) => d >= 500 && d <= 1500));
  assert.ok(new Set(da).size > 10);
});

Deno.test("resolveBackoff() validates options with the project's message form", () => {
  assert.throws(() => resolveBackoff({ initialDelayMs: -1 }), ValidationError);
  assert.throws(
    () => resolveBackoff({ initialDelayMs: 500, maxDelayMs: 100 }),
    /'maxDelayMs' must be >= initialDelayMs/,
  );
  assert.throws(() => resolveBackoff({ jitter: 2 }), ValidationError);
  assert.throws(() => resolveBackoff({ maxAttempts: 1.5 }), ValidationError);
});
