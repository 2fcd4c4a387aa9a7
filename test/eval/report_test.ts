/**
 * The `--report` page: its parts, the PR curve and reliability bins it draws, and a render in headless Chromium
 * (screenshot not blank, every thumbnail decoded, no console message). The browser test skips with a message when
 * `chromium` is not installed (Debian: `apt-get install -y chromium`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { reliabilityBins, renderReport, type ReportContent, writeReport } from "../../src/eval/report.ts";
import { loopPrCurve } from "../../src/eval/report_views.ts";

async function withTemp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "waymark_report_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A few coloured JPEGs, and content that uses every part of the page. */
async function content(dir: string): Promise<ReportContent> {
  const paths: string[] = [];
  for (const [i, rgb] of [[200, 40, 40], [40, 160, 60], [30, 60, 200], [220, 200, 30]].entries()) {
    const path = join(dir, `img ${i}<&>.jpg`);
    await sharp({
      create: { width: 64, height: 48, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
    })
      .jpeg().toFile(path);
    paths.push(path);
  }
  const events = [
    { query: 5, match: 1, confidence: 0.9 },
    { query: 6, match: 2, confidence: 0.8 },
    { query: 7, match: 0, confidence: 0.6 },
    { query: 8, match: 3, confidence: 0.5 },
  ];
  const truth = [[], [], [], [], [], [1], [2], [3], [3]];
  const pr = loopPrCurve(events, truth);
  return {
    title: "test report <script>",
    summary: [["Recall@1", "95.5%"], ["dataset", "a & b"]],
    pr: { points: pr.points, operating: pr.operating },
    reliability: {
      confidence: [0.1, 0.15, 0.55, 0.95, 0.97],
      correct: [false, true, true, true, true],
      ece: 0.1,
    },
    latency: [{ name: "total", samplesMs: [5, 6, 7, 30, 8, 9] }, {
      name: "per frame",
      percentiles: { p50: 5, p90: 9, p99: 30 },
    }],
    strips: [{
      title: "worst",
      rows: [{
        query: { path: paths[0], name: "q<1>.jpg" },
        candidates: [
          { path: paths[1], name: "right.jpg", correct: true, note: "#1" },
          { path: paths[2], name: "wrong.jpg", correct: false, note: "#2" },
          { path: paths[3], name: "unjudged.jpg" },
          { path: join(dir, "absent.jpg"), name: "absent.jpg", correct: false },
        ],
        caption: "truth: right.jpg",
      }],
    }],
    notes: ["a note"],
  };
}

Deno.test("PR curve of loop events: one point per threshold, the operating point is all events", () => {
  const events = [
    { query: 5, match: 1, confidence: 0.9 },
    { query: 6, match: 2, confidence: 0.8 },
    { query: 7, match: 0, confidence: 0.6 },
  ];
  const pr = loopPrCurve(events, [[], [], [], [], [], [1], [2], [3], [3]]);
  assert.deepEqual(pr.points.map((p) => p.threshold), [0.9, 0.8, 0.6]);
  assert.deepEqual(pr.points.map((p) => p.precision), [1, 1, 2 / 3]);
  assert.deepEqual(pr.points.map((p) => p.recall), [1 / 4, 2 / 4, 2 / 4]);
  assert.deepEqual(pr.operating, { recall: 0.5, precision: 2 / 3, threshold: 0.6 });
  assert.equal(loopPrCurve([], [[]]).operating, undefined);
});

Deno.test("reliability bins: mean confidence and accuracy per bin", () => {
  const bins = reliabilityBins([0.05, 0.15, 0.95, 0.99, 1], [false, true, true, false, true], 10);
  assert.equal(bins[0].n, 1);
  assert.equal(bins[0].acc, 0);
  assert.equal(bins[1].acc, 1);
  assert.equal(bins[9].n, 3);
  assert.ok(Math.abs(bins[9].conf - (0.95 + 0.99 + 1) / 3) < 1e-12);
  assert.ok(Math.abs(bins[9].acc - 2 / 3) < 1e-12);
});

Deno.test("report HTML: summary, charts, strips with marks and file names, escaped, self-contained", async () => {
  await withTemp(async (dir) => {
    const html = await renderReport(await content(dir));
    assert.match(html, /<title>test report &lt;script&gt;<\/title>/);
    assert.match(html, /<td>a &amp; b<\/td>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 4);
    assert.match(html, /operating point/);
    assert.equal((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length, 4);
    assert.match(html, /q&lt;1&gt;\.jpg/);
    assert.match(html, /class="ok".*right\.jpg.*✓ right/s);
    assert.match(html, /class="bad".*wrong\.jpg.*✗ wrong/s);
    assert.match(html, /unreadable/);
    assert.ok(!/(src|href)="(?!data:)[^"#]/.test(html), "no external resource");
  });
});

const chromium = (() => {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const out = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "piped" })
        .outputSync();
      if (out.success) return new TextDecoder().decode(out.stdout).trim();
    } catch { /* no shell */ }
  }
  return null;
})();
if (!chromium) {
  console.warn(
    "[waymark tests] chromium is absent: the report's browser test is skipped (apt-get install -y chromium)",
  );
}

/** Render `file` headless: the DOM after load, the console lines, and a screenshot's pixel spread. */
async function render(file: string, dir: string) {
  const common = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
  ];
  const dom = await new Deno.Command(chromium!, {
    args: [...common, "--dump-dom", `file://${file}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const shot = join(dir, "shot.png");
  await new Deno.Command(chromium!, {
    args: [...common, "--window-size=1200,1600", `--screenshot=${shot}`, `file://${file}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stats = await sharp(shot).stats();
  const stderr = new TextDecoder().decode(dom.stderr);
  return {
    dom: new TextDecoder().decode(dom.stdout),
    console: stderr.split("\n").filter((l) => l.includes(":CONSOLE")),
    spread: Math.max(...stats.channels.map((c) => c.stdev)),
    minMean: Math.min(...stats.channels.map((c) => c.mean)),
  };
}

Deno.test({
  name: "report renders in headless Chromium: not blank, every thumbnail decoded, no console message",
  ignore: chromium === null,
  async fn() {
    await withTemp(async (dir) => {
      const c = await content(dir);
      // The unreadable candidate is shown as a placeholder, not a broken image.
      const path = await writeReport(join(dir, "report"), c);
      const r = await render(path, dir);
      assert.deepEqual(r.console, [], "console messages");
      assert.match(r.dom, /data-images-ok="all 4"/);
      assert.ok(r.spread > 10, `screenshot pixel spread ${r.spread}`);
      assert.ok(r.minMean < 250, `screenshot mean ${r.minMean}`);
      // The checks can fail: a page with a script error and a broken image is caught.
      const bad = join(dir, "bad.html");
      await Deno.writeTextFile(
        bad,
        (await Deno.readTextFile(path)).replace(
          "</h1>",
          '</h1><img src="data:image/jpeg;base64,AAAA"><script>nope()</script>',
        ),
      );
      const rb = await render(bad, dir);
      assert.ok(rb.console.some((l) => l.includes("nope")), rb.console.join("\n"));
      assert.match(rb.dom, /data-images-ok="broken 1"/);
    });
  },
});
