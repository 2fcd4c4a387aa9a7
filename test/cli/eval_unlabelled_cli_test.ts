/** `waymark eval retrieval` on a plain folder of images (unlabelled), and `--map` reuse on a labelled dataset. */
import assert from "node:assert/strict";
import { GENERIC_MODEL, simDataset, simMap } from "./_sim_fixture.ts";
import { runCli } from "./_capture.ts";
import { tempDir } from "../map/_tmp.ts";

/** A plain folder with the first `n` database images of the simulated dataset. */
async function plainFolder(n: number): Promise<string> {
  const ds = await simDataset();
  const dir = `${await tempDir()}/plain`;
  await Deno.mkdir(dir, { recursive: true });
  const rows = (await Deno.readTextFile(`${ds}/database.csv`)).trim().split("\n").slice(1, n + 1);
  for (const row of rows) {
    const rel = row.split(",")[0];
    await Deno.copyFile(`${ds}/${rel}`, `${dir}/${rel.split("/").at(-1)}`);
  }
  return dir;
}

Deno.test("eval retrieval on a plain folder with --map: top-k file names per image, JSON too", async () => {
  const [folder, map] = [await plainFolder(6), await simMap()];
  const r = await runCli(["eval", "retrieval", folder, "--map", map, "--top-k", "3", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(j.mode, "unlabelled-map");
  assert.equal(j.queries, 6);
  for (const q of j.per_query) {
    assert.equal(q.top.length, 3);
    // The map holds these very images: each finds itself first.
    assert.ok(q.top[0].image.endsWith(q.query), `${q.query} -> ${q.top[0].image}`);
    assert.ok(q.top[0].similarity > 0.99);
  }
  const text = await runCli(["eval", "retrieval", folder, "--map", map, "--top-k", "2"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /unlabelled/);
  assert.match(text.stdout, /t0_\d+\.jpg: images\/t0_\d+\.jpg \d\.\d{3}, images\/t0_\d+\.jpg/);
});

Deno.test("eval retrieval on a plain folder without a map: each image against the others", async () => {
  const folder = await plainFolder(5);
  const r = await runCli(["eval", "retrieval", folder, "--model", GENERIC_MODEL, "--top-k", "2", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(j.mode, "unlabelled-self");
  assert.equal(j.per_query.length, 5);
  for (const q of j.per_query) {
    assert.equal(q.top.length, 2);
    assert.ok(q.top.every((m: { image: string }) => m.image !== q.query), "an image is not its own answer");
  }
});

Deno.test("eval retrieval --map reuses a built map of the dataset; --per-query prints file names", async () => {
  const [ds, map] = [await simDataset(), await simMap()];
  const r = await runCli(["eval", "retrieval", ds, "--map", map, "--per-query"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`loaded from .*map`));
  assert.match(r.stdout, /images\/t1_\d+\.jpg: top images\/t0_\d+\.jpg, /);
  assert.match(r.stdout, /R@1 \d+\.\d%/);
  const bad = await runCli(["eval", "retrieval", ds, "--map", map, "--verify"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'map' must be not given with --verify/);
});

Deno.test("eval retrieval --report writes a self-contained page with strips of file names", async () => {
  const [ds, map] = [await simDataset(), await simMap()];
  const out = `${await tempDir()}/report`;
  const r = await runCli(["eval", "retrieval", ds, "--map", map, "--report", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /report written to .*index\.html/);
  const html = await Deno.readTextFile(`${out}/index.html`);
  assert.match(html, /Recall@1/);
  assert.match(html, /A sample of queries/);
  assert.match(html, /images\/t1_\d+\.jpg/);
  assert.match(html, /data:image\/jpeg;base64,/);
  assert.match(html, /<svg /);
  const plain = await plainFolder(3);
  const u = await runCli(["eval", "retrieval", plain, "--map", map, "--report", `${out}_u`]);
  assert.equal(u.code, 0, u.stderr);
  assert.match(await Deno.readTextFile(`${out}_u/index.html`), /unlabelled/);
});
