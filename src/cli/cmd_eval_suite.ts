/**
 * `waymark eval suite`: the robustness suite (retrieval, stream and loop rows; the classic recipe beside
 * Waymark), one table plus one JSON object.
 * @module
 */
import { join, resolve } from "node:path";
import { runSuite, SUITE_ROWS, suiteReportJson, suiteTable } from "../eval/suite.ts";
import { EXIT_OK, EXIT_USAGE, parseCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "robustness suite: degraded, simulated and aliased rows; classic recipe beside Waymark";

const rowList = SUITE_ROWS.map((r) => `  ${r.name.padEnd(22)} ${r.kind.padEnd(9)} ${r.what}`).join("\n");

const HELP = `waymark eval suite [options]

Run retrieval (Recall@1/5), stream (smoothed Recall@1, ECE) and loop-closure evaluation (precision, recall,
recall at 100% precision) over the rows below, with the classic recipe (OpenCV SIFT on a grid, RootSIFT,
hard-assignment VLAD 64, fitted on each row's map) beside Waymark on every retrieval row and its
single-frame baseline on every loop row. Waymark runs as 'eval retrieval' / 'eval stream' / 'eval loops'
do: the default model fitted on each row's map (or --model), the generic vocabulary for loops.
Prints a Markdown table (a Waymark value below the classic one is in bold), then with --json one JSON
object as the last line of stdout. Progress goes to stderr.

Derived datasets, simulated routes and the classic column are cached under --cache (keyed by the source
data and the row definitions), so a second run only computes the Waymark column.

Rows:
${rowList}

Options:
  --rows A,B          run only these rows (names above)
  --dataset DIR       also (without --rows: only) run a dataset of your own as a row: retrieval when DIR
                      has database.csv, else loops (sequence.csv); repeatable
  --quick             tiny simulated rows only (24 frames a lap, 96x72): a smoke test
  --data DIR          the shared rtabmap_samples_loop folder      default: $WAYMARK_SHARED/data/..., else
                      ../shared/data/rtabmap_samples_loop (rows that need it are skipped when absent)
  --preset NAME       default-model preset of the Waymark column   default: the registry's default
  --model DIR         Waymark column from this model folder (retrieval, stream and loops)
  --verify            also verify loop events geometrically (both numbers reported)
  --cache DIR         cache folder                                  default .waymark-cache/suite
  --no-cache          derive everything into a temporary folder, removed at the end (unless --keep)
  --keep              with --no-cache: keep that folder (its path is in the JSON as data_dir)
  --out DIR           also write suite.md (the table) and suite.json into DIR (created; a folder you name);
                      suite.partial.md holds the rows done so far while it runs
  --json              print the JSON object as the last line of stdout
  -h, --help          this help
`;

async function defaultData(): Promise<string | null> {
  const candidates = [
    Deno.env.get("WAYMARK_SHARED") && join(Deno.env.get("WAYMARK_SHARED")!, "data/rtabmap_samples_loop"),
    "../shared/data/rtabmap_samples_loop",
  ].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      if ((await Deno.stat(join(p, "database.csv"))).isFile) return resolve(p);
    } catch { /* absent */ }
  }
  return null;
}

/** Run `waymark eval suite`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "eval suite",
    help: HELP,
    positionals: { count: 0, what: "no arguments" },
    options: {
      rows: { type: "string" },
      dataset: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      data: { type: "string" },
      preset: { type: "string" },
      model: { type: "string" },
      verify: { type: "boolean", default: false },
      cache: { type: "string" },
      "no-cache": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      out: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (values.model && values.preset) {
    console.error("waymark eval suite: --model and --preset exclude each other");
    return EXIT_USAGE;
  }
  if (values["no-cache"] && values.cache) {
    console.error("waymark eval suite: --cache and --no-cache exclude each other");
    return EXIT_USAGE;
  }
  let rtabmap: string | null;
  if (values.data) {
    rtabmap = resolve(values.data);
    try {
      await Deno.stat(join(rtabmap, "database.csv"));
    } catch {
      console.error(
        `waymark eval suite: --data ${values.data} has no database.csv (a retrieval dataset folder)`,
      );
      return EXIT_USAGE;
    }
  } else rtabmap = await defaultData();
  const report = await runSuite({
    rows: values.rows?.split(",").map((s) => s.trim()).filter((s) => s),
    datasets: values.dataset,
    quick: values.quick,
    rtabmap,
    preset: values.preset,
    modelDir: values.model,
    verify: values.verify,
    cacheDir: values["no-cache"] ? null : values.cache,
    keep: values.keep,
    onRow: values.out
      ? async (partial) => {
        await Deno.mkdir(values.out!, { recursive: true });
        await Deno.writeTextFile(join(values.out!, "suite.partial.md"), suiteTable(partial) + "\n");
      }
      : undefined,
  });
  const table = suiteTable(report);
  const json = suiteReportJson(report);
  if (values.out) {
    await Deno.mkdir(values.out, { recursive: true });
    await Deno.writeTextFile(join(values.out, "suite.md"), table + "\n");
    await Deno.writeTextFile(join(values.out, "suite.json"), JSON.stringify(json, null, 1) + "\n");
    await Deno.remove(join(values.out, "suite.partial.md")).catch(() => {});
  }
  console.log(`robustness suite, Waymark: ${report.waymarkModel}, ${report.date}`);
  console.log(table);
  if (values.json) console.log(JSON.stringify(json));
  return EXIT_OK;
}
