import assert from "node:assert/strict";
import { Subject } from "rxjs";
import { JsonlSink } from "../../src/io/jsonl_sink.ts";
import type { StatsEvent, WaymarkEvent } from "../../src/types.ts";
import { ValidationError } from "../../src/errors.ts";

const stats = (n: number): StatsEvent => ({
  kind: "stats",
  stamp: n,
  received: n,
  processed: n,
  dropped: 0,
  errors: 0,
});
const readLines = async (p: string) =>
  (await Deno.readTextFile(p)).split("\n").filter((l) => l).map((l) => JSON.parse(l));

Deno.test("JsonlSink appends one JSON line per event, across reopenings, with fsync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_jsonl_" });
  const path = `${dir}/events.jsonl`;
  try {
    const a = await JsonlSink.open(path, { flush: "every", fsync: true });
    const events = new Subject<WaymarkEvent>();
    const sub = a.attach(events);
    for (let i = 0; i < 5; i++) events.next(stats(i));
    sub.unsubscribe();
    await a.close();
    assert.deepEqual(a.stats, { written: 5, bytes: a.stats.bytes, dropped: 0, failures: 0 });
    const b = await JsonlSink.open(path, { flush: "close" });
    b.write(stats(5));
    await b.close();
    assert.deepEqual(await readLines(path), [0, 1, 2, 3, 4, 5].map(stats));
    const c = await JsonlSink.open(path, { append: false, flush: "close" });
    c.write(stats(9));
    await c.close();
    assert.deepEqual(await readLines(path), [stats(9)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JsonlSink flush policies: 'every' writes promptly, 'interval' on its timer, 'close' only when asked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_jsonl_" });
  try {
    const every = await JsonlSink.open(`${dir}/every.jsonl`, { flush: "every" });
    const interval = await JsonlSink.open(`${dir}/interval.jsonl`, {
      flush: "interval",
      flushIntervalMs: 30,
    });
    const manual = await JsonlSink.open(`${dir}/manual.jsonl`, { flush: "close" });
    for (const s of [every, interval, manual]) s.write(stats(1));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(every.stats.written, 1);
    assert.equal(interval.stats.written, 0);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(interval.stats.written, 1);
    assert.equal(manual.stats.written, 0);
    await manual.flush();
    assert.equal(manual.stats.written, 1);
    for (const s of [every, interval, manual]) await s.close();
    manual.write(stats(2));
    assert.equal(manual.stats.dropped, 1, "writes after close are dropped and counted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JsonlSink drops and counts events beyond maxBufferedBytes instead of growing without bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_jsonl_" });
  try {
    const s = await JsonlSink.open(`${dir}/e.jsonl`, { flush: "close", maxBufferedBytes: 300 });
    for (let i = 0; i < 10; i++) s.write(stats(i));
    const kept = 10 - s.stats.dropped;
    assert.ok(kept >= 2 && kept < 10, `kept ${kept}`);
    await s.close();
    assert.equal((await readLines(`${dir}/e.jsonl`)).length, kept);
    await assert.rejects(JsonlSink.open(`${dir}/x`, { flush: "sometimes" as "every" }), ValidationError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JsonlSink.open on a folder is a ValidationError naming it, not a file system trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      JsonlSink.open(dir),
      (e: Error) => e.name === "ValidationError" && e.message.includes(dir),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
