/**
 * The evaluation report of `eval ... --report DIR`: one self-contained `index.html` (no external file, no script
 * needed to read it) with a summary table, and as the evaluation provides them: the precision-recall curve of loop
 * events with the operating point, the reliability diagram behind ECE, latency histograms, and prediction strips
 * (query, then its top candidates, each framed green when right and red when wrong, file names shown). Charts are
 * inline SVG drawn here; thumbnails are small JPEGs made with sharp and embedded as data URIs.
 *
 * A short inline script only checks, once the page has loaded, that every thumbnail decoded, and records the
 * count in `<body data-images-ok>` (for the headless-browser test); the page reads the same without it.
 *
 * @module
 */
import sharp from "sharp";
import { join } from "node:path";

/** One point of a precision-recall curve. */
export interface PrPoint {
  recall: number;
  precision: number;
  /** Confidence threshold of this point. */
  threshold: number;
}

/** A latency series: raw samples (a histogram is drawn) or only percentiles (bars). */
export interface LatencySeries {
  name: string;
  samplesMs?: number[];
  percentiles?: { p50: number; p90: number; p99: number };
}

/** One image of a prediction strip. */
export interface StripImage {
  /** Image file to show. */
  path: string;
  /** Label under it (file name). */
  name: string;
  /** Right (green), wrong (red) or not judged (grey). */
  correct?: boolean;
  /** Extra text (similarity, rank). */
  note?: string;
}

/** A group of strips (e.g. "worst queries"). */
export interface StripGroup {
  title: string;
  rows: { query: StripImage; candidates: StripImage[]; caption?: string }[];
}

/** Everything the report shows; every part but the title and summary is optional. */
export interface ReportContent {
  title: string;
  /** Rows of the summary table. */
  summary: [string, string][];
  pr?: { points: PrPoint[]; operating?: PrPoint; label?: string };
  reliability?: { confidence: number[]; correct: boolean[]; bins?: number; ece?: number };
  latency?: LatencySeries[];
  strips?: StripGroup[];
  /** Lines of small print (what is left out and why). */
  notes?: string[];
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");

/** Axes frame of a W x H chart with margins; returns the SVG pieces and a mapper from data to pixels. */
function axes(
  w: number,
  h: number,
  xr: [number, number],
  yr: [number, number],
  xl: string,
  yl: string,
  ticks = 5,
  xTicks = true,
) {
  const m = { l: 48, r: 12, t: 12, b: 40 };
  const px = (x: number) => m.l + ((x - xr[0]) / (xr[1] - xr[0] || 1)) * (w - m.l - m.r);
  const py = (y: number) => h - m.b - ((y - yr[0]) / (yr[1] - yr[0] || 1)) * (h - m.t - m.b);
  const parts = [
    `<rect x="${m.l}" y="${m.t}" width="${w - m.l - m.r}" height="${
      h - m.t - m.b
    }" fill="#fafafa" stroke="#999"/>`,
  ];
  for (let i = 0; i <= ticks; i++) {
    const xv = xr[0] + ((xr[1] - xr[0]) * i) / ticks, yv = yr[0] + ((yr[1] - yr[0]) * i) / ticks;
    if (xTicks) {
      parts.push(
        `<line x1="${px(xv)}" y1="${h - m.b}" x2="${px(xv)}" y2="${h - m.b + 4}" stroke="#666"/>`,
        `<text x="${px(xv)}" y="${h - m.b + 16}" font-size="11" text-anchor="middle">${label(xv)}</text>`,
      );
    }
    parts.push(
      `<line x1="${m.l - 4}" y1="${py(yv)}" x2="${m.l}" y2="${py(yv)}" stroke="#666"/>`,
      `<text x="${m.l - 6}" y="${py(yv) + 4}" font-size="11" text-anchor="end">${label(yv)}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.l + w - m.r) / 2}" y="${h - 6}" font-size="12" text-anchor="middle">${esc(xl)}</text>`,
    `<text x="12" y="${(m.t + h - m.b) / 2}" font-size="12" text-anchor="middle" ` +
      `transform="rotate(-90 12 ${(m.t + h - m.b) / 2})">${esc(yl)}</text>`,
  );
  return { parts, px, py };
}

function label(v: number): string {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return Number(v.toFixed(2)).toString();
}

const svg = (w: number, h: number, body: string[]) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${
    body.join("")
  }</svg>`;

/** The precision-recall curve with the operating point marked. */
export function prCurveSvg(points: PrPoint[], operating?: PrPoint): string {
  const w = 420, h = 320;
  const { parts, px, py } = axes(w, h, [0, 1], [0, 1], "recall", "precision");
  const sorted = [...points].sort((a, b) => a.recall - b.recall || b.precision - a.precision);
  if (sorted.length) {
    const d = sorted.map((p, i) =>
      `${i ? "L" : "M"}${px(p.recall).toFixed(1)},${py(p.precision).toFixed(1)}`
    );
    parts.push(`<path d="${d.join("")}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
    for (const p of sorted) {
      parts.push(`<circle cx="${px(p.recall)}" cy="${py(p.precision)}" r="2.5" fill="#1f77b4"/>`);
    }
  }
  if (operating) {
    parts.push(
      `<circle cx="${px(operating.recall)}" cy="${
        py(operating.precision)
      }" r="7" fill="none" stroke="#d62728" ` +
        `stroke-width="2.5"/>`,
      `<text x="${px(operating.recall) - 8}" y="${
        py(operating.precision) + 22
      }" font-size="11" fill="#d62728" ` +
        `text-anchor="end">operating point (conf ≥ ${f3(operating.threshold)})</text>`,
    );
  }
  return svg(w, h, parts);
}

/** Reliability bins: mean confidence, accuracy and count per equal-width confidence bin. */
export function reliabilityBins(confidence: number[], correct: boolean[], bins = 10) {
  const out = Array.from(
    { length: bins },
    (_, i) => ({ lo: i / bins, hi: (i + 1) / bins, n: 0, conf: 0, acc: 0 }),
  );
  confidence.forEach((c, i) => {
    const b = out[Math.min(bins - 1, Math.max(0, Math.floor(c * bins)))];
    b.n++;
    b.conf += c;
    b.acc += correct[i] ? 1 : 0;
  });
  for (const b of out) {
    if (b.n) {
      b.conf /= b.n;
      b.acc /= b.n;
    }
  }
  return out;
}

/** The reliability diagram: accuracy per confidence bin against the diagonal, with the counts. */
export function reliabilitySvg(confidence: number[], correct: boolean[], bins = 10): string {
  const w = 420, h = 320;
  const { parts, px, py } = axes(w, h, [0, 1], [0, 1], "confidence", "accuracy");
  parts.push(
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
  );
  for (const b of reliabilityBins(confidence, correct, bins)) {
    if (!b.n) continue;
    const x0 = px(b.lo) + 1, x1 = px(b.hi) - 1;
    parts.push(
      `<rect x="${x0}" y="${py(b.acc)}" width="${x1 - x0}" height="${py(0) - py(b.acc)}" fill="#2ca02c" ` +
        `fill-opacity="0.7"/>`,
      `<line x1="${x0}" y1="${py(b.conf)}" x2="${x1}" y2="${py(b.conf)}" stroke="#d62728" stroke-width="2"/>`,
      `<text x="${(x0 + x1) / 2}" y="${py(b.acc) - 3}" font-size="9" text-anchor="middle">${b.n}</text>`,
    );
  }
  return svg(w, h, parts);
}

/** A latency histogram (samples) or percentile bars (when only those are known). */
export function latencySvg(series: LatencySeries): string {
  const w = 420, h = 240;
  if (series.samplesMs && series.samplesMs.length) {
    const xs = series.samplesMs;
    const max = Math.max(...xs), min = Math.min(0, ...xs);
    const nb = Math.min(30, Math.max(5, Math.ceil(Math.sqrt(xs.length))));
    const counts = new Array(nb).fill(0);
    for (const x of xs) counts[Math.min(nb - 1, Math.floor(((x - min) / (max - min || 1)) * nb))]++;
    const top = Math.max(...counts);
    const { parts, px, py } = axes(
      w,
      h,
      [min, max || 1],
      [0, top],
      `${series.name} latency (ms)`,
      "count",
      Math.max(1, Math.min(5, top)),
    );
    counts.forEach((c, i) => {
      const x0 = px(min + ((max - min) * i) / nb), x1 = px(min + ((max - min) * (i + 1)) / nb);
      parts.push(
        `<rect x="${x0 + 0.5}" y="${py(c)}" width="${Math.max(0.5, x1 - x0 - 1)}" ` +
          `height="${py(0) - py(c)}" fill="#9467bd"/>`,
      );
    });
    return svg(w, h, parts);
  }
  const p = series.percentiles ?? { p50: 0, p90: 0, p99: 0 };
  const vals: [string, number][] = [["p50", p.p50], ["p90", p.p90], ["p99", p.p99]];
  const top = Math.max(1e-9, ...vals.map((v) => v[1]));
  const { parts, py } = axes(w, h, [0, 3], [0, top], `${series.name} latency percentiles`, "ms", 3, false);
  vals.forEach(([name, v], i) => {
    const x = 48 + ((w - 60) * (i + 0.2)) / 3, bw = ((w - 60) / 3) * 0.6;
    parts.push(
      `<rect x="${x}" y="${py(v)}" width="${bw}" height="${py(0) - py(v)}" fill="#9467bd"/>`,
      `<text x="${x + bw / 2}" y="${py(v) - 4}" font-size="11" text-anchor="middle">${name} ${
        label(v)
      }</text>`,
    );
  });
  return svg(w, h, parts);
}

/** A thumbnail as a data URI (null when the file cannot be read or decoded). */
async function thumbnail(path: string, cache: Map<string, string | null>): Promise<string | null> {
  if (cache.has(path)) return cache.get(path)!;
  let uri: string | null = null;
  try {
    const buf = await sharp(path).resize(160, 120, { fit: "inside" }).jpeg({ quality: 70 }).toBuffer();
    uri = `data:image/jpeg;base64,${buf.toString("base64")}`;
  } catch {
    uri = null;
  }
  cache.set(path, uri);
  return uri;
}

async function stripHtml(groups: StripGroup[]): Promise<string> {
  const cache = new Map<string, string | null>();
  const cell = async (im: StripImage, isQuery: boolean) => {
    const uri = await thumbnail(im.path, cache);
    const cls = isQuery ? "q" : im.correct === undefined ? "n" : im.correct ? "ok" : "bad";
    const mark = isQuery ? "query" : im.correct === undefined ? "" : im.correct ? "✓ right" : "✗ wrong";
    const img = uri ? `<img src="${uri}" alt="${esc(im.name)}">` : `<div class="missing">unreadable</div>`;
    return `<figure class="${cls}">${img}<figcaption>${esc(im.name)}<br><b>${mark}</b>${
      im.note ? ` ${esc(im.note)}` : ""
    }</figcaption></figure>`;
  };
  const out: string[] = [];
  for (const g of groups) {
    out.push(`<h3>${esc(g.title)}</h3>`);
    if (!g.rows.length) out.push(`<p>none</p>`);
    for (const r of g.rows) {
      const cells = [await cell(r.query, true)];
      for (const c of r.candidates) cells.push(await cell(c, false));
      out.push(`<div class="strip">${r.caption ? `<p>${esc(r.caption)}</p>` : ""}${cells.join("")}</div>`);
    }
  }
  return out.join("\n");
}

/** The report's HTML. */
export async function renderReport(c: ReportContent): Promise<string> {
  const sections: string[] = [];
  sections.push(
    `<h2>Summary</h2><table>${
      c.summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")
    }</table>`,
  );
  const charts: string[] = [];
  if (c.pr) {
    charts.push(
      `<div class="chart"><h3>Precision-recall of loop events${
        c.pr.label ? ` (${esc(c.pr.label)})` : ""
      }</h3>${prCurveSvg(c.pr.points, c.pr.operating)}</div>`,
    );
  }
  if (c.reliability) {
    charts.push(
      `<div class="chart"><h3>Reliability diagram${
        c.reliability.ece !== undefined ? ` (ECE ${f3(c.reliability.ece)})` : ""
      }</h3>${reliabilitySvg(c.reliability.confidence, c.reliability.correct, c.reliability.bins)}` +
        `<p class="small">bars: accuracy per confidence bin (count above); red: mean confidence; dashed: perfect ` +
        `calibration</p></div>`,
    );
  }
  for (const s of c.latency ?? []) {
    charts.push(`<div class="chart"><h3>Latency: ${esc(s.name)}</h3>${latencySvg(s)}</div>`);
  }
  if (charts.length) sections.push(`<h2>Charts</h2><div class="charts">${charts.join("")}</div>`);
  if (c.strips?.length) sections.push(`<h2>Predictions</h2>${await stripHtml(c.strips)}`);
  if (c.notes?.length) {
    sections.push(`<h2>Notes</h2><ul>${c.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(c.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f0f0f0}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:8px}
.strip{display:flex;gap:8px;align-items:flex-start;margin:8px 0 16px;flex-wrap:wrap}.strip p{flex-basis:100%;margin:0}
figure{margin:0;width:168px;font-size:11px;text-align:center}figure img{display:block;margin:auto;border:4px solid #bbb}
figure.q img{border-color:#1f77b4}figure.ok img{border-color:#2ca02c}figure.bad img{border-color:#d62728}
figure.ok b{color:#2ca02c}figure.bad b{color:#d62728}.missing{height:80px;border:4px solid #bbb}
.small{font-size:11px;color:#555}
</style></head>
<body data-images-ok="pending">
<h1>${esc(c.title)}</h1>
${sections.join("\n")}
<script>
addEventListener("load", () => {
  const imgs = [...document.images];
  const ok = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = ok === imgs.length ? "all " + ok : "broken " + (imgs.length - ok);
});
</script>
</body></html>
`;
}

/** Write `index.html` into `dir` (created); returns its path. */
export async function writeReport(dir: string, c: ReportContent): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "index.html");
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, await renderReport(c));
  await Deno.rename(tmp, path);
  return path;
}

/** Up to `n` items spread evenly over `xs` (a deterministic sample). */
export function evenSample<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]);
}
