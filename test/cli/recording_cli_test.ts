/**
 * Recordings in `map build` and `eval loops`: the shared ROS 1 bag with the shared dataset's loops.csv scores as
 * the dataset itself does; an MCAP (written here with `@mcap/core`) of the same JPEGs with a truth keyed by frame
 * index; map places named `<topic>@<sec>.<nanosec>`; `--truth` refused without a recording and required with one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { needsShared, sharedPath } from "../_shared.ts";
import { runCli } from "./_capture.ts";
import { tempDir } from "../map/_tmp.ts";
import { readLoopDataset } from "../../src/dataset/loop_dataset.ts";
import { foxgloveProtobuf, writeMcap } from "../io/_mcap_fixture.ts";

const DATA = () => sharedPath("data/rtabmap_samples_loop");
const BAG = () => `bag:${sharedPath("fixtures/bags/rtabmap_loop_ros1.bag")}#/camera/image/compressed`;
const GENERIC = new URL("../../models/waymark-generic", import.meta.url).pathname;

/** The bag's exact stamp of frame i (fixture README). */
const stampOf = (i: number) =>
  `${1700000000 + Math.floor(i / 10)}.${String((i % 10) * 100000000 + 12345 + i).padStart(9, "0")}`;

/** An MCAP of image files on topic /cam (foxglove.CompressedImage protobuf), frame i stamped 1700000000+i s, i+1 ns. */
async function writeSequenceMcap(path: string, files: string[]): Promise<string> {
  const messages = [];
  for (const [i, file] of files.entries()) {
    const sec = 1700000000 + i, nsec = 1 + i;
    messages.push({
      topic: "/cam",
      logTimeNs: BigInt(sec) * 1_000_000_000n + BigInt(nsec),
      data: foxgloveProtobuf(sec, nsec, "cam", "jpeg", await Deno.readFile(file)),
    });
  }
  await writeMcap(
    path,
    [{
      topic: "/cam",
      schema: "foxglove.CompressedImage",
      schemaEncoding: "protobuf",
      messageEncoding: "protobuf",
    }],
    messages,
    { chunkSize: 1 << 20 },
  );
  return path;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);

Deno.test({
  name: "eval loops on a bag and on an MCAP of the shared sequence: the dataset's own scores",
  ...needsShared(),
  async fn() {
    const dir = await tempDir();
    const base = await runCli(["eval", "loops", DATA(), "--json"]);
    assert.equal(base.code, 0, base.stderr);
    const want = lastJson(base.stdout);

    const bag = await runCli([
      "eval",
      "loops",
      BAG(),
      "--truth",
      join(DATA(), "loops.csv"),
      "--json",
      "--report",
      `${dir}/report`,
    ]);
    assert.equal(bag.code, 0, bag.stderr);
    const got = lastJson(bag.stdout);
    assert.equal(got.frames, 84);
    assert.equal(got.loop_frames, want.loop_frames);
    // The bag holds the frames resized and re-encoded: the scores stay close to the dataset's.
    assert.ok(got.precision >= 0.9, JSON.stringify(got));
    assert.ok(got.recall >= want.recall - 0.15, JSON.stringify(got));
    assert.match(await Deno.readTextFile(`${dir}/report/index.html`), /\/camera\/image\/compressed/);

    // An MCAP of the dataset's own JPEG bytes, truth keyed by frame index: exactly the dataset's scores.
    const ds = await readLoopDataset(DATA());
    const mcap = await writeSequenceMcap(join(dir, "seq.mcap"), ds.frames.map((f) => f.path));
    const rows = ds.loops.flatMap((ms, q) => ms.map((m) => `${q},${m}`));
    await Deno.writeTextFile(join(dir, "truth.csv"), `query,match\n${rows.join("\n")}\n`);
    const m = await runCli(["eval", "loops", `mcap:${mcap}`, "--truth", join(dir, "truth.csv"), "--json"]);
    assert.equal(m.code, 0, m.stderr);
    const mj = lastJson(m.stdout);
    for (const k of ["precision", "recall", "recall_at_100p", "events", "frames", "loop_frames"]) {
      assert.equal(mj[k], want[k], `${k}: ${JSON.stringify(mj)} vs ${JSON.stringify(want)}`);
    }
    assert.deepEqual(mj.hypotheses, want.hypotheses);
  },
});

Deno.test({
  name: "eval loops: --truth is required with a recording and refused without one",
  ...needsShared(),
  async fn() {
    const noTruth = await runCli(["eval", "loops", BAG()]);
    assert.notEqual(noTruth.code, 0);
    assert.match(noTruth.stderr, /'truth' must be a loops CSV for a recording/);
    const stray = await runCli(["eval", "loops", DATA(), "--truth", join(DATA(), "loops.csv")]);
    assert.notEqual(stray.code, 0);
    assert.match(stray.stderr, /'truth' must be given only with bag:\/mcap:/);
  },
});

Deno.test({
  name: "map build on a bag and on an MCAP: one place per frame, named by topic and exact stamp",
  ...needsShared(),
  async fn() {
    const dir = await tempDir();
    const r = await runCli(["map", "build", BAG(), "--out", `${dir}/map`, "--model", GENERIC, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).places, 84);
    const places = (await Deno.readTextFile(`${dir}/map/places.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(places.length, 84);
    places.forEach((p, i) => assert.equal(p.image, `/camera/image/compressed@${stampOf(i)}`));
    assert.ok(Math.abs(places[83].stamp - 1700000008.300012428) < 1e-6);

    const ds = await readLoopDataset(DATA());
    const mcap = await writeSequenceMcap(join(dir, "twelve.mcap"), ds.frames.slice(0, 12).map((f) => f.path));
    const m = await runCli(["map", "build", `mcap:${mcap}`, "--out", `${dir}/mcap_map`, "--model", GENERIC]);
    assert.equal(m.code, 0, m.stderr);
    const mp = (await Deno.readTextFile(`${dir}/mcap_map/places.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(
      mp.map((p) => p.image),
      Array.from({ length: 12 }, (_, i) => `/cam@${1700000000 + i}.${String(i + 1).padStart(9, "0")}`),
    );
  },
});

Deno.test({
  name: "eval retrieval on a bag against a map of the dataset: each frame's top match by name, unlabelled",
  ...needsShared(),
  async fn() {
    const dir = await tempDir();
    const b = await runCli(["map", "build", DATA(), "--out", `${dir}/map`, "--model", GENERIC]);
    assert.equal(b.code, 0, b.stderr);
    const r = await runCli(["eval", "retrieval", BAG(), "--map", `${dir}/map`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.equal(j.mode, "unlabelled-map");
    assert.equal(j.queries, 84);
    const q = j.per_query as { query: string; top: { image: string }[] }[];
    q.forEach((x, i) => assert.equal(x.query, `/camera/image/compressed@${stampOf(i)}`));
    // database.csv holds the first traversal (frames 0..39): the bag's re-encoded frames find themselves.
    const self = q.slice(0, 40).filter((x, i) => x.top[0].image === `images/${i + 1}.jpg`).length;
    assert.ok(self >= 36, `${self} of 40`);
  },
});
