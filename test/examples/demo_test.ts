import assert from "node:assert/strict";
import { tempDir } from "../map/_tmp.ts";

const DEMO = new URL("../../examples/demo.ts", import.meta.url).pathname;

async function runDemo(cache: string): Promise<{ code: number; out: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEMO, "--frames", "40", "--fps", "20", "--cache", cache],
    stdout: "piped",
    stderr: "piped",
  });
  const r = await cmd.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("the demo (short mode) localizes a WebSocket camera, verifies a loop, serves events, then reuses its cache", async () => {
  const cache = await tempDir();
  const first = await runDemo(cache);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /building the map of traversal 1/);
  assert.match(first.out, /camera: serving 40 JPEG frames at 20 fps on ws:\/\/127\.0\.0\.1:\d+\/camera/);
  assert.match(first.out, /events: serving every event as JSON on ws:\/\/127\.0\.0\.1:\d+/);
  assert.match(first.out, /LOOP frame \d+ -> .* VERIFIED \(\d+ inliers\)/);
  const s = first.out.slice(first.out.indexOf("summary"));
  const estimated = Number(s.match(/frames\s+40 sent, (\d+) estimated/)![1]);
  assert.ok(estimated >= 30, s);
  const localized = Number(s.match(/localized\s+(\d+)/)![1]);
  const correct = Number(s.match(/correct\s+(\d+)/)![1]);
  assert.ok(localized >= estimated * 0.8, s);
  assert.ok(correct >= localized * 0.8, s);
  const [, loops, verified] = s.match(/loop closures (\d+) \((\d+) verified/)!.map(Number);
  assert.ok(loops >= 1 && verified >= 1, s);
  const second = await runDemo(cache);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /map: 40 places from the cache/);
});
