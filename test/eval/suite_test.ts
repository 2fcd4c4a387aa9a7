import assert from "node:assert/strict";
import {
  datasetRows,
  runSuite,
  selectRows,
  SUITE_ROWS,
  suiteReportJson,
  suiteTable,
} from "../../src/eval/suite.ts";
import { pngRetrievalDataset } from "./_png_dataset.ts";

const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;

Deno.test("suite: --quick prints the table and one parseable JSON line (classic beside Waymark)", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "waymark_suite_test_" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "eval", "suite", "--quick", "--no-cache", "--json"],
      cwd,
      env: { WAYMARK_SHARED: "/nonexistent" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
    assert.ok(lines.some((l) => l.startsWith("| row | classic R@1 | Waymark R@1")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("| sim-night |")));
    const json = JSON.parse(lines.at(-1)!);
    assert.equal(json.suite, "waymark-robustness");
    assert.equal(json.quick, true);
    assert.deepEqual(json.rows.map((r: { name: string }) => r.name), ["sim", "sim-night", "loops-sim"]);
    const [sim, night, loops] = json.rows;
    for (const r of [sim, night]) {
      for (
        const v of [
          r.classic.r1,
          r.classic.r5,
          r.waymark.r1,
          r.waymark.r5,
          r.waymark.smoothedR1,
          r.waymark.ece,
        ]
      ) {
        assert.ok(v >= 0 && v <= 1, JSON.stringify(r));
      }
      assert.ok(r.classic.r5 >= r.classic.r1 && r.waymark.r5 >= r.waymark.r1);
    }
    // The recipe retrieves on the unchanged-map simulated row (it is a working baseline, not a stub).
    assert.ok(sim.classic.r1 >= 0.5, `classic R@1 on sim ${sim.classic.r1}`);
    for (const k of ["recall", "r100p"]) {
      assert.ok(loops.waymark[k] >= 0 && loops.waymark[k] <= 1, k);
    }
    // precision is undefined (null in JSON) when the row emitted no event
    const p = loops.waymark.precision;
    assert.ok(loops.waymark.events === 0 ? p === null : p >= 0 && p <= 1, `precision ${p}`);
    assert.ok(loops.classic.r100p >= 0 && loops.classic.r100p <= 1);
    assert.equal(json.data_dir, undefined, "the temporary data folder is removed");
    // Nothing was written where the command ran.
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("suite: --rows selects rows by name and refuses unknown names", () => {
  assert.deepEqual(selectRows({ rows: ["night", "rtabmap"] }).map((r) => r.name), ["night", "rtabmap"]);
  assert.equal(selectRows({}).length, SUITE_ROWS.length);
  assert.throws(() => selectRows({ rows: ["nope"] }), /names among: rtabmap/);
  assert.throws(() => selectRows({ quick: true, rows: ["rtabmap"] }), /names among: sim/);
});

Deno.test("suite: the table marks a Waymark value below the classic one; JSON lists those rows", () => {
  const report = {
    date: "2026-01-01T00:00:00Z",
    waymarkModel: "preset default",
    quick: false,
    seconds: 1,
    rows: [
      {
        name: "a",
        kind: "retrieval" as const,
        what: "",
        classic: { r1: 0.9, r5: 1 },
        waymark: { r1: 0.5, r5: 1 },
        seconds: 1,
      },
      {
        name: "b",
        kind: "retrieval" as const,
        what: "",
        classic: { r1: 0.5, r5: 1 },
        waymark: { r1: 0.6, r5: 1 },
        seconds: 1,
      },
      {
        name: "c",
        kind: "loops" as const,
        what: "",
        skipped: "the shared rtabmap set is absent",
        seconds: 0,
      },
      {
        name: "d",
        kind: "loops" as const,
        what: "",
        classic: { r100p: 0 },
        waymark: { precision: NaN, recall: 0, r100p: 0, events: 0 },
        seconds: 1,
      },
    ],
  };
  const table = suiteTable(report);
  assert.match(table, /\| a \| 0\.900 \| \*\*0\.500\*\* \|/);
  assert.match(table, /\| b \| 0\.500 \| 0\.600 \|/);
  assert.match(table, /\| c \| skipped: the shared rtabmap set is absent \|/);
  assert.match(table, /\| d \|( - \|){6} n\.a\. \| 0\.000 \|/, "no event: precision n.a., not 0.000");
  assert.deepEqual(suiteReportJson(report).waymark_below_classic_r1, ["a"]);
});

Deno.test("suite: --dataset runs a dataset of your own as a row (retrieval or loops by its CSVs)", async () => {
  const dir = await pngRetrievalDataset(6);
  try {
    const rows = await datasetRows([dir]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].kind, "retrieval");
    assert.deepEqual(selectRows({}, rows), rows, "without --rows only the dataset rows run");
    await assert.rejects(() => datasetRows([`${dir}/nope`]), /database\.csv or sequence\.csv/);
    const report = await runSuite({ datasets: [dir], cacheDir: null, onLog: () => {} });
    const r = report.rows[0];
    assert.equal(r.name, rows[0].name);
    assert.ok(r.classic!.r1! >= 0 && r.classic!.r1! <= 1 && r.waymark!.r1! >= 0 && r.waymark!.r1! <= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
