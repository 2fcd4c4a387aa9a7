import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import type { MapWriteStep } from "../../src/map/map_writer.ts";
import { recoverMapDir, writeMap } from "../../src/map/map_writer.ts";
import { loadMap, readMapData } from "../../src/map/map_loader.ts";
import { FakeModel } from "./_fake.ts";

const model = new FakeModel();
const ref = { name: model.info.name, id: model.info.id, dim: 16, bundled: false };

function content(n: number, seed: number) {
  const descriptors = new Float32Array(n * 16).map((_, i) => Math.sin(i * 0.7 + seed));
  for (let r = 0; r < n; r++) {
    const row = descriptors.subarray(r * 16, (r + 1) * 16);
    const norm = Math.hypot(...row);
    for (let j = 0; j < 16; j++) row[j] /= norm;
  }
  const places = Array.from(
    { length: n },
    (_, i) => ({ placeId: i, image: `img${seed}_${i}.jpg`, stamp: i }),
  );
  return { model: ref, places, descriptors, index: { kind: "exact" as const } };
}

async function siblings(dir: string): Promise<string[]> {
  const base = dir.split("/").pop()!;
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  const out: string[] = [];
  for await (const e of Deno.readDir(parent)) {
    if (e.name.startsWith(base + ".")) out.push(e.name.slice(base.length));
  }
  return out;
}

const crashAt = (at: MapWriteStep) => (s: MapWriteStep) => {
  if (s === at) throw new Error(`simulated crash at ${s}`);
};

for (const at of ["staged-data", "staged-extra", "staged-manifest", "moved-old"] as const) {
  Deno.test(`writeMap() interrupted at ${at} leaves the previous map loadable (and cleans up)`, async () => {
    const dir = `${await tempDir()}/map`;
    await writeMap(dir, content(4, 1));
    await assert.rejects(
      writeMap(dir, content(7, 2), { replace: true, onStep: crashAt(at) }),
      /simulated crash/,
    );
    const map = await loadMap(dir, { model });
    assert.equal(map.places.length, 4);
    assert.equal(map.places[0].image, "img1_0.jpg");
    assert.deepEqual(await siblings(dir), []);
  });
}

Deno.test("a crash while staging (no clean-up) keeps the old map; recovery drops nothing of a live writer", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(4, 1));
  await assert.rejects(
    writeMap(dir, content(7, 2), { replace: true, onStep: crashAt("staged-data"), cleanupOnError: false }),
    /simulated crash/,
  );
  assert.equal((await loadMap(dir, { model })).places.length, 4);
  assert.equal((await siblings(dir)).filter((s) => s.startsWith(".tmp-")).length, 1);
});

Deno.test("a crash between moving the old map aside and the commit rename rolls forward on load", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(4, 1));
  await assert.rejects(
    writeMap(dir, content(7, 2), { replace: true, onStep: crashAt("moved-old"), cleanupOnError: false }),
    /simulated crash/,
  );
  await assert.rejects(Deno.stat(dir)); // the map folder is momentarily absent
  const map = await loadMap(dir, { model });
  assert.equal(map.places.length, 7);
  assert.deepEqual(await siblings(dir), []);
});

Deno.test("recovery rolls back to the old map when the staging folder is incomplete", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(4, 1));
  await Deno.rename(dir, `${dir}.old-999999999-abc`);
  await Deno.mkdir(`${dir}.tmp-999999999-abd`); // a dead writer's half-staged folder, no manifest
  const r = await recoverMapDir(dir);
  assert.equal(r.action, "rolled-back");
  assert.equal((await loadMap(dir, { model })).places.length, 4);
  if (Deno.build.os === "linux") assert.deepEqual(await siblings(dir), []);
});

Deno.test("loadMap() names a file whose checksum or size does not match the manifest", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(4, 1));
  const path = `${dir}/descriptors.f32`;
  const bytes = await Deno.readFile(path);
  bytes[5] ^= 0xff;
  await Deno.writeFile(path, bytes);
  await assert.rejects(
    loadMap(dir, { model }),
    (e) =>
      e instanceof MapFormatError && e.message.includes("descriptors.f32") &&
      /checksum mismatch/.test(e.message),
  );
  assert.equal((await loadMap(dir, { model, verifyChecksums: false })).places.length, 4);
  await Deno.writeFile(path, bytes.subarray(0, 10));
  await assert.rejects(
    loadMap(dir, { model, verifyChecksums: false }),
    /descriptors\.f32: size 10, expected 256/,
  );
});

Deno.test("loadMap() rejects a missing folder, a non-map folder and an unknown format version", async () => {
  const root = await tempDir();
  await assert.rejects(loadMap(`${root}/none`, { model }), /none: map folder not found/);
  await assert.rejects(loadMap(root, { model }), /manifest\.json: missing: not a Waymark map folder/);
  const dir = `${root}/map`;
  await writeMap(dir, content(2, 1));
  const m = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  m.version = 99;
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(m));
  await assert.rejects(
    readMapData(dir),
    /unsupported map format version 99: this Waymark reads versions 1 and 2/,
  );
});

Deno.test("writeMap() rejects descriptors that do not match places x dim", async () => {
  const c = content(3, 1);
  await assert.rejects(
    writeMap(`${await tempDir()}/m`, { ...c, descriptors: new Float32Array(5) }),
    MapFormatError,
  );
});
