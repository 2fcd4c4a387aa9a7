import { tempDir } from "../map/_tmp.ts";
import assert from "node:assert/strict";
import { writeMap } from "../../src/map/map_writer.ts";
import { runCli } from "./_capture.ts";

const ref = { name: "fake-grid", id: "fake-id", dim: 4, bundled: false };

async function smallMap(): Promise<string> {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, {
    model: ref,
    places: [0, 1, 2].map((i) => ({ placeId: i, image: `${i}.jpg`, stamp: i })),
    descriptors: new Float32Array(12).fill(0.5),
    index: { kind: "exact" },
  });
  return dir;
}

Deno.test("waymark map build|info --help print usage and exit 0", async () => {
  for (const cmd of [["map", "build"], ["map", "info"], ["eval", "retrieval"]]) {
    const r = await runCli([...cmd, "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^waymark ${cmd.join(" ")} `));
  }
});

Deno.test("waymark map build without --out or with a bad option is a usage error (exit 2)", async () => {
  const a = await runCli(["map", "build", "some/folder"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /'out' must be a folder path/);
  const b = await runCli(["map", "build", "some/folder", "--out", "x", "--index", "lsh"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /'index' must be one of hnsw, exact: current value is "lsh"/);
});

Deno.test("waymark map build on a missing folder fails with a DatasetError naming it (exit 1)", async () => {
  const r = await runCli(["map", "build", "/nonexistent/ds", "--out", "/tmp/never_written_map"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DatasetError: \/nonexistent\/ds: dataset or image folder not found/);
  await assert.rejects(Deno.stat("/tmp/never_written_map"));
});

Deno.test("waymark map info reports counts, model, files and checksum status; exit 1 on a corrupt file", async () => {
  const dir = await smallMap();
  const ok = await runCli(["map", "info", dir]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /places\s+3 \(0 images skipped at build\)/);
  assert.match(ok.stdout, /model\s+fake-grid id fake-id \(4-d, external\)/);
  assert.match(ok.stdout, /descriptors\.f32\s+48 B\s+ok/);
  assert.match(ok.stdout, /checksums\s+all ok/);
  const bytes = await Deno.readFile(`${dir}/places.jsonl`);
  bytes[3] ^= 1;
  await Deno.writeFile(`${dir}/places.jsonl`, bytes);
  const bad = await runCli(["map", "info", dir, "--json"]);
  assert.equal(bad.code, 1);
  const json = JSON.parse(bad.stdout.split("\n").at(-1)!);
  assert.equal(json.checksums, "bad");
  assert.equal(
    json.files.find((f: { path: string }) => f.path === "places.jsonl").problem,
    "checksum mismatch",
  );
});

Deno.test("waymark map info on a folder that is not a map fails naming manifest.json", async () => {
  const r = await runCli(["map", "info", await tempDir()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /MapFormatError: .*manifest\.json: missing: not a Waymark map folder/);
});

Deno.test("waymark eval retrieval on a dataset with a malformed CSV fails naming file and line", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/database.csv`, 'image\n"a.jpg\n');
  await Deno.writeTextFile(`${dir}/queries.csv`, "image\na.jpg\n");
  const r = await runCli(["eval", "retrieval", dir, "--json"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DatasetError: .*database\.csv:2: unterminated quoted field/);
  assert.equal(r.stdout, "");
});
