// Issue 14 item 6: a damaged manifest.json is a MapFormatError naming the field, never a silent load or an
// uncaught TypeError.
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { loadMap, readMapManifest } from "../../src/map/map_loader.ts";
import { checkManifest } from "../../src/map/manifest_check.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { runCli } from "../cli/_capture.ts";
import { FakeModel } from "./_fake.ts";
import { tempDir } from "./_tmp.ts";

/** A map whose manifest has every section, local features included (their files are stand-ins). */
async function fullMap(): Promise<string> {
  const dir = `${await tempDir()}/map`;
  const n = 3;
  await writeMap(dir, {
    model: { name: "fake-grid", id: "fake-model-1", dim: 16, bundled: false, source: "/models/fake" },
    places: Array.from({ length: n }, (_, i) => ({ placeId: i, image: `${i}.jpg`, stamp: i })),
    descriptors: new Float32Array(n * 16).fill(0.25),
    index: { kind: "exact" },
    skipped: [{ image: "bad.jpg", reason: "truncated" }],
    build: { source: "/data/ds", seconds: 1.5 },
    populate: async (staging) => {
      await Deno.mkdir(`${staging}/features`);
      for (const f of ["pca.bin", "local.bin", "local.idx"]) {
        await Deno.writeFile(`${staging}/features/${f}`, new Uint8Array([1, 2, 3]));
      }
    },
    localFeatures: {
      version: 1,
      pca: "features/pca.bin",
      data: "features/local.bin",
      index: "features/local.idx",
      inputDim: 128,
      dim: 40,
      places: n,
      keypoints: 1500,
      bytes: 3,
      extraction: {
        extractor: "sift-kp",
        maxSide: 512,
        maxKeypoints: 500,
        scales: [1, 0.7071, 0.5, 0.3536],
        attentionThreshold: 0.00001,
        nmsIoU: 0.5,
      },
    },
  });
  return dir;
}

Deno.test("manifest fuzz: every byte with a flipped bit is a MapFormatError or reads back identical", async () => {
  const dir = await fullMap();
  const path = `${dir}/manifest.json`;
  const original = await Deno.readFile(path);
  const want = await readMapManifest(dir);
  // What readMapManifest does once the file is read (every 32nd case goes through the file, the rest in memory).
  const read = async (bytes: Uint8Array, pos: number) => {
    if (pos % 32 === 0) {
      await Deno.writeFile(path, bytes);
      return await readMapManifest(dir);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new MapFormatError(`malformed JSON`, { cause: err });
    }
    return checkManifest(raw, path);
  };
  let errors = 0, same = 0;
  const other: string[] = [];
  for (let pos = 0; pos < original.length; pos++) {
    for (const bit of [1, 1 << (1 + (pos % 7))]) {
      const bytes = original.slice();
      bytes[pos] ^= bit;
      try {
        const got = await read(bytes, pos);
        assert.deepEqual(got, want, `flip of bit ${bit} at byte ${pos} loaded a changed manifest silently`);
        same++;
      } catch (e) {
        if (e instanceof MapFormatError) errors++;
        else other.push(`byte ${pos} bit ${bit}: ${e}`);
      }
    }
  }
  await Deno.writeFile(path, original);
  assert.deepEqual(other, [], "every failure is a MapFormatError");
  assert.ok(errors > 0 && errors + same === 2 * original.length);
});

Deno.test("a changed verification setting names its field (checksum), an out-of-range one its exact path (schema)", async () => {
  const dir = await fullMap();
  const path = `${dir}/manifest.json`;
  const m = JSON.parse(await Deno.readTextFile(path));
  const edit = async (f: (x: typeof m) => void) => {
    const c = structuredClone(m);
    f(c);
    await Deno.writeTextFile(path, JSON.stringify(c, null, 2));
  };
  await edit((c) => c.localFeatures.extraction.maxKeypoints = 501);
  await assert.rejects(
    readMapManifest(dir),
    (e) =>
      e instanceof MapFormatError && e.context.field === "localFeatures" &&
      /field 'localFeatures' does not match its checksum/.test(e.message),
  );
  await edit((c) => c.localFeatures.extraction.scales = [1, 0.7, "x"]);
  await assert.rejects(
    readMapManifest(dir),
    /field 'localFeatures\.extraction\.scales\[2\]' must be a number/,
  );
  await edit((c) => c.counts.places = -1);
  await assert.rejects(
    readMapManifest(dir),
    /field 'counts\.places' must be an integer in \[0, 4294967295\]/,
  );
  await edit((c) => c.files[0].path = "../../etc/passwd");
  await assert.rejects(
    readMapManifest(dir),
    /field 'files\[0\]\.path' must be a relative path inside the map/,
  );
  await edit((c) => {
    c.localFeatures.extraction.maxKeypoinps = c.localFeatures.extraction.maxKeypoints; // a flipped key
    delete c.localFeatures.extraction.maxKeypoints;
  });
  await assert.rejects(
    readMapManifest(dir),
    /field 'localFeatures\.extraction\.maxKeypoints' must be present/,
  );
  await edit((c) => c.model = null);
  await assert.rejects(readMapManifest(dir), /field 'model' must be an object: current value is null/);
  await edit((c) => c.version = 1);
  await assert.rejects(
    readMapManifest(dir),
    /field 'version' must be 2 for a manifest with an integrity section/,
  );
});

Deno.test("a version 1 map (before the manifest checksum) still loads, checked field by field", async () => {
  const dir = await fullMap();
  const path = `${dir}/manifest.json`;
  const m = JSON.parse(await Deno.readTextFile(path));
  m.version = 1;
  delete m.integrity;
  delete m.localFeatures; // and its files, as such a map may have none
  await Deno.writeTextFile(path, JSON.stringify(m, null, 2));
  assert.equal((await loadMap(dir, { model: new FakeModel() })).places.length, 3);
  m.counts.dim = 17;
  await Deno.writeTextFile(path, JSON.stringify(m, null, 2));
  await assert.rejects(readMapManifest(dir), /field 'counts\.dim' must be 16 \(model\.dim\)/);
});

Deno.test("waymark map info on a manifest with a flipped key prints a MapFormatError naming the field, no stack trace", async () => {
  const dir = await fullMap();
  const path = `${dir}/manifest.json`;
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace('"counts"', '"counte"'));
  const r = await runCli(["map", "info", dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^waymark: MapFormatError: .*manifest\.json: field 'counts' must be present/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
