import assert from "node:assert/strict";
import { runCli } from "./_capture.ts";
import { runCliLive, simDataset, simMap } from "./_sim_fixture.ts";

Deno.test("waymark localize --help prints usage; missing --map/--source or a bad --rate is a usage error", async () => {
  const h = await runCli(["localize", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^waymark localize --map <dir> --source <spec>/);
  const a = await runCli(["localize", "--source", "sim"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--map and --source are required/);
  const b = await runCli(["localize", "--map", "x", "--source", "sim", "--rate", "fast"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /'rate' must be recorded, max or frames per second/);
  const c = await runCli(["localize", "--map", await simMap(), "--source", "ftp://camera"]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /'source' must be ws:\/\/host:port\/path, rosbridge/);
});

Deno.test("waymark localize on a small map prints estimates and serves every event on --publish", async () => {
  const ds = await simDataset();
  const map = await simMap();
  const received: Record<string, unknown>[] = [];
  let client: WebSocket | null = null;
  let opened: Promise<void> = Promise.resolve();
  const r = await runCliLive([
    "localize",
    "--map",
    map,
    "--source",
    `dataset:${ds}#queries`,
    "--rate",
    "10",
    "--publish",
    "ws://127.0.0.1:0",
    "--print-hz",
    "1000",
  ], (line) => {
    const m = line.match(/serving events on (ws:\/\/\S+)/);
    if (m && !client) {
      const ws = new WebSocket(m[1]);
      client = ws;
      ws.onmessage = (e) => received.push(JSON.parse(e.data as string));
      // Settles on open, and also on error or close: on a busy machine the command may finish before the
      // client connects, and a promise nothing can settle would end the test with a dangling-promise error
      // instead of the assertions below saying what was received.
      opened = new Promise((resolve) => {
        ws.onopen = () => resolve();
        ws.onerror = () => resolve();
        ws.onclose = () => resolve();
      });
    }
  });
  await opened;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(client, "the publish URL was printed");
  (client as WebSocket).close();
  const lines = r.stdout.split("\n").filter((l) => /^#\d+ t=/.test(l));
  assert.ok(lines.length >= 30, `estimate lines printed: ${lines.length}\n${r.stdout}`);
  const localized = lines.filter((l) => / localized /.test(l)).length;
  assert.ok(localized >= lines.length / 2, `localized: ${localized}/${lines.length}`);
  assert.match(r.stderr, /stats received 40 processed \d+ dropped \d+ errors 0/);
  const estimates = received.filter((e) => e.kind === "estimate");
  assert.ok(estimates.length >= 20, `estimates served: ${estimates.length}`);
  assert.ok(received.some((e) => e.kind === "stats"));
  const est = estimates.at(-1)!.estimate as { status: string; confidence: number; placeId: number };
  assert.ok(["localized", "uncertain", "lost"].includes(est.status));
  assert.ok(est.confidence >= 0 && est.confidence <= 1);
});

Deno.test("waymark localize --full-scan is documented and takes a whole number of places (0: off)", async () => {
  const h = await runCli(["localize", "--help"]);
  assert.match(h.stdout, /--full-scan N +maps of up to N places/);
  for (const bad of ["-1", "1.5", "many"]) {
    const r = await runCli(["localize", "--map", "x", "--source", "sim", `--full-scan=${bad}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /'full-scan' must be an integer >= 0 \(places\)/);
  }
});
