/**
 * Issue 14 item 8: every error a user can cause is a message with an exit code, never a stack trace. Each
 * command runs as its own process (as a user would run it) with bad arguments; none may print a stack frame
 * ("    at ...") and each must exit non-zero.
 */
import assert from "node:assert/strict";
import { writeMap } from "../../src/map/map_writer.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";
import { simDataset, simMap } from "./_sim_fixture.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const STACK = /^\s+at \S/m;

async function waymark(argv: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...argv],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

function assertMessage(argv: string[], r: { code: number; out: string }, pattern?: RegExp): void {
  const cmd = `waymark ${argv.join(" ")}`;
  assert.ok(!STACK.test(r.out), `${cmd} printed a stack trace:\n${r.out}`);
  assert.notEqual(r.code, 0, `${cmd} exit code\n${r.out}`);
  assert.match(r.out, /waymark/, `${cmd} prints a message\n${r.out}`);
  if (pattern) assert.match(r.out, pattern, `${cmd}\n${r.out}`);
}

/** Runs `cases` a few at a time (each is a process). */
async function runAll(cases: { argv: string[]; pattern?: RegExp }[]): Promise<void> {
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const results = await Promise.all(batch.map((c) => waymark(c.argv)));
    batch.forEach((c, k) => assertMessage(c.argv, results[k], c.pattern));
  }
}

Deno.test("every command with bad arguments prints a message and exits non-zero, never a stack trace", async () => {
  const tmp = await tempDir();
  const missing = `${tmp}/does-not-exist`;
  await runAll([
    { argv: ["map", "build", "--bogus"] },
    { argv: ["map", "build", missing, "--out", `${tmp}/o1`] },
    { argv: ["map", "info"] },
    { argv: ["map", "info", missing] },
    { argv: ["localize", "--map", missing, "--source", "sim"] },
    { argv: ["localize", "--map", missing, "--source", "sim", "--top-k", "abc"] },
    { argv: ["localize", "--map", missing, "--source", "sim", "--publish", "http://127.0.0.1:1"] },
    {
      argv: ["localize", "--map", missing, "--source", "sim", "--token", "t"],
      pattern: /'token' must be given only with --publish/,
    },
    { argv: ["slam"] },
    { argv: ["slam", "--source", `dataset:${missing}`, "--out", `${tmp}/o2`] },
    { argv: ["eval", "retrieval", missing] },
    { argv: ["eval", "stream", "--bogus"] },
    { argv: ["eval", "loops", missing] },
    {
      argv: ["verify", `${missing}/a.png`, `${missing}/b.png`, "--out", `${tmp}/pair.png`],
      pattern: /a\.png/,
    },
    { argv: ["verify", "only-one.png"] },
    { argv: ["train"] },
    { argv: ["train", missing, "--out", `${tmp}/model`] },
    { argv: ["sim", "export"] },
    { argv: ["sim", "export", `${tmp}/sim`, "--frames", "-3"] },
    { argv: ["model", "info", missing] },
    { argv: ["model", "info", "--bogus"] },
  ]);
});

Deno.test("localize: a port in use, --jsonl naming a folder: messages, not stack traces", async () => {
  const map = await simMap();
  const ds = await simDataset();
  const tmp = await tempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const base = ["localize", "--map", map, "--source", `dataset:${ds}#queries`, "--rate", "max"];
    await runAll([
      {
        argv: [...base, "--publish", `ws://127.0.0.1:${port}`],
        pattern: new RegExp(`127\\.0\\.0\\.1:${port}`),
      },
      { argv: [...base, "--jsonl", tmp], pattern: /jsonl/ },
    ]);
  } finally {
    busy.close();
  }
});

Deno.test("localize --publish ws://[::1]:0 serves on the IPv6 loopback (the brackets do not reach the resolver)", async () => {
  const map = await simMap();
  const ds = await simDataset();
  const argv = ["localize", "--map", map, "--source", `dataset:${ds}#queries`, "--rate", "max"];
  const r = await waymark([...argv, "--publish", "ws://[::1]:0", "--print-hz", "0"]);
  assert.ok(!STACK.test(r.out), r.out);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /serving events on ws:\/\/\[::1\]:\d+/);
});

Deno.test("map info on a manifest with a flipped key answers with a message, never a stack trace", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, {
    model: { name: "fake-grid", id: "fake-id", dim: 4, bundled: false },
    places: [0, 1, 2].map((i) => ({ placeId: i, image: `${i}.jpg`, stamp: i })),
    descriptors: new Float32Array(12).fill(0.5),
    index: { kind: "exact" },
  });
  const text = await Deno.readTextFile(`${dir}/manifest.json`);
  const keys = [...new Set([...text.matchAll(/"([A-Za-z_][A-Za-z0-9_]*)":/g)].map((m) => m[1]))];
  assert.ok(keys.length > 5);
  for (const key of keys) {
    // Flip one bit of the key's first letter (as a damaged byte would).
    const flipped = String.fromCharCode(key.charCodeAt(0) ^ 0x20) + key.slice(1);
    await Deno.writeTextFile(`${dir}/manifest.json`, text.replaceAll(`"${key}":`, `"${flipped}":`));
    const r = await runCli(["map", "info", dir]);
    const out = r.stdout + r.stderr;
    assert.ok(!STACK.test(out), `key ${key}: ${out}`);
    assert.ok(r.code === 0 || r.code === 1, `key ${key}: exit ${r.code}`);
  }
  await Deno.writeTextFile(`${dir}/manifest.json`, text);
  const flips = await waymark(["map", "info", dir]);
  assert.equal(flips.code, 0, flips.out);
});
