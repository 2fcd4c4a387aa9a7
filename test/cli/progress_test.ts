/** ProgressBar off a terminal: a plain line every few seconds, the last one when a long step ends, none for a short one. */
import assert from "node:assert/strict";
import { PROGRESS_LINE_S, ProgressBar } from "../../src/cli/_common.ts";

function capture(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    fn();
  } finally {
    console.error = orig;
  }
  return lines;
}

Deno.test("ProgressBar without a terminal prints a line every few seconds and the final count", () => {
  let t = 1000;
  const lines = capture(() => {
    const bar = new ProgressBar("describe       ", 100, { tty: false, now: () => t });
    for (let i = 1; i <= 100; i++) {
      t += 200; // 20 s in all
      bar.update(i, "3.0 img/s");
    }
    bar.update(100);
    bar.done();
  });
  assert.ok(
    lines.length >= 20 / PROGRESS_LINE_S - 1 && lines.length <= 20 / PROGRESS_LINE_S + 1,
    lines.join("\n"),
  );
  assert.match(lines[0], /^describe: \d+\/100 3\.0 img\/s$/);
  assert.match(lines.at(-1)!, /^describe: 100\/100/);
  assert.equal(lines.filter((l) => l.includes("100/100")).length, 1);
});

Deno.test("ProgressBar without a terminal stays quiet for a step shorter than the period", () => {
  let t = 0;
  const lines = capture(() => {
    const bar = new ProgressBar("fit", 10, { tty: false, now: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 100;
      bar.update(i);
    }
  });
  assert.deepEqual(lines, []);
});
