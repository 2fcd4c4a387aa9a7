/**
 * The layer order of `src/` (README, "Architecture"): every import in `src/`, as Deno's own module graph
 * (`deno info --json`) resolves it (static, dynamic and type-only imports, re-exports; comments and doc
 * examples excluded), must point to the same area or to a strictly lower layer, and a private `_`-prefixed
 * file of an area may be imported only from inside that area.
 *
 * @module
 */
import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";

/**
 * The areas of `src/`, lowest layer first. An area may import only from its own folder and from areas of a
 * strictly lower layer; areas that share a layer may not import each other. `core` is the files directly in
 * `src/` (types, errors, the project-private `_rng.ts`, `_fs.ts`, `_lru.ts`).
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["core"],
  ["kernels"],
  ["image", "dataset", "index", "localize"],
  ["model"],
  ["verify"],
  ["map"],
  ["pipeline"],
  ["io"],
  ["eval", "train"],
  ["cli"],
];

/** npm packages that only one area may import (the README's "the only onnxruntime import"). */
export const PACKAGE_OWNERS: Readonly<Record<string, string>> = { "onnxruntime-node": "model" };

const ROOT = resolve(fromFileUrl(new URL("..", import.meta.url)));
const SRC = resolve(ROOT, "src");

/** One import: `from` and `to` are paths relative to the repository root, or `to` is a bare package name. */
export interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

/** The area of a `src/` path (`src/map/x.ts` -> `map`, `src/types.ts` -> `core`). */
export function areaOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "src") throw new Error(`not a src/ path: ${path}`);
  return parts.length === 2 ? "core" : parts[1];
}

function rank(area: string): number {
  return LAYERS.findIndex((layer) => layer.includes(area));
}

/** Every broken rule among `edges`, one readable line each (empty when the imports keep the order). */
export function violations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const at = `${e.from}:${e.line}`;
    const a = areaOf(e.from);
    if (rank(a) < 0) {
      out.push(`${at}: area '${a}' is not in the layer table (test/architecture_test.ts LAYERS, README)`);
      continue;
    }
    if (!e.to.startsWith("src/")) {
      if (e.to.startsWith("npm:") || e.to.startsWith("node:") || e.to.startsWith("jsr:")) {
        const pkg = e.to.replace(/^npm:\/?/, "").replace(/@[^@/]*$/, "");
        const owner = PACKAGE_OWNERS[pkg];
        if (owner && owner !== a) out.push(`${at}: imports ${pkg}, which only src/${owner}/ may import`);
      } else {
        out.push(`${at}: imports ${e.to}, outside src/`);
      }
      continue;
    }
    const b = areaOf(e.to);
    if (a === b) continue;
    if (rank(b) < 0) {
      out.push(`${at}: area '${b}' of ${e.to} is not in the layer table`);
    } else if (rank(b) >= rank(a)) {
      out.push(
        `${at}: ${a} (layer ${rank(a)}) imports ${e.to} of ${b} (layer ${rank(b)}); ` +
          "imports must point to a lower layer",
      );
    }
    const base = e.to.slice(e.to.lastIndexOf("/") + 1);
    if (b !== "core" && base.startsWith("_")) {
      out.push(`${at}: imports ${e.to}, a private file of src/${b}/, from another area`);
    }
  }
  return out;
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; span?: { start: { line: number } } };
  type?: { specifier?: string; span?: { start: { line: number } } };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
  error?: string;
}

/** Every file under `src/` ending in `.ts`, relative to the repository root. */
async function sourceFiles(dir = SRC): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = resolve(dir, e.name);
    if (e.isDirectory) out.push(...await sourceFiles(p));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(relative(ROOT, p));
  }
  return out.sort();
}

/** The imports of every `src/` file, from `deno info --json` on a temporary module importing them all. */
async function sourceImports(files: string[]): Promise<{ edges: ImportEdge[]; seen: Set<string> }> {
  const dir = await Deno.makeTempDir({ prefix: "waymark-architecture-" });
  try {
    const entry = resolve(dir, "all.ts");
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(pathToFileURL(resolve(ROOT, f)).href)};`).join("\n"),
    );
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await cmd.output();
    assert.equal(code, 0, `deno info failed: ${new TextDecoder().decode(stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: InfoModule[] };
    const edges: ImportEdge[] = [];
    const seen = new Set<string>();
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file://")) continue;
      const from = relative(ROOT, fromFileUrl(m.specifier));
      if (!from.startsWith("src/")) continue;
      assert.equal(m.error, undefined, `${from}: ${m.error}`);
      seen.add(from);
      for (const d of m.dependencies ?? []) {
        for (const r of [d.code, d.type]) {
          if (!r?.specifier) continue;
          const to = r.specifier.startsWith("file://")
            ? relative(ROOT, fromFileUrl(r.specifier))
            : d.specifier.startsWith("npm:") || d.specifier.startsWith("node:")
            ? d.specifier
            : `npm:${d.specifier}`; // bare names resolve through the import map to npm packages
          edges.push({ from, to, line: (r.span?.start.line ?? 0) + 1 });
        }
      }
    }
    return { edges, seen };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("architecture: the checker flags a backwards import, a private file across areas and a stray package", () => {
  assert.deepEqual(
    violations([
      { from: "src/map/compact.ts", to: "src/kernels/vector.ts", line: 1 },
      { from: "src/train/x.ts", to: "src/model/pca.ts", line: 2 },
      { from: "src/model/y.ts", to: "src/model/_private.ts", line: 3 },
      { from: "src/index/y.ts", to: "src/_fs.ts", line: 4 },
      { from: "src/model/runtime.ts", to: "npm:onnxruntime-node@1.30.0", line: 5 },
    ]),
    [],
  );
  const bad = violations([
    { from: "src/model/pca.ts", to: "src/train/kmeans.ts", line: 8 },
    { from: "src/image/a.ts", to: "src/index/b.ts", line: 9 },
    { from: "src/eval/stream.ts", to: "src/map/_fs.ts", line: 25 },
    { from: "src/index/similarity_scan.ts", to: "npm:onnxruntime-node@1.30.0", line: 3 },
    { from: "src/localize/fit.ts", to: "scripts/x.ts", line: 1 },
    { from: "src/newarea/x.ts", to: "src/types.ts", line: 1 },
  ]);
  assert.equal(bad.length, 6, bad.join("\n"));
  assert.match(
    bad[0],
    /src\/model\/pca\.ts:8: model \(layer 3\) imports src\/train\/kmeans\.ts of train \(layer 8\)/,
  );
  assert.match(bad[1], /image \(layer 2\) imports src\/index\/b\.ts of index \(layer 2\)/);
  assert.match(bad[2], /a private file of src\/map\//);
  assert.match(bad[3], /only src\/model\/ may import/);
  assert.match(bad[4], /outside src\//);
  assert.match(bad[5], /'newarea' is not in the layer table/);
});

Deno.test("architecture: every import in src/ keeps the layer order and the privacy of _ files", async () => {
  const files = await sourceFiles();
  assert.ok(files.length > 100, `found ${files.length} files under src/`);
  const { edges, seen } = await sourceImports(files);
  assert.deepEqual(files.filter((f) => !seen.has(f)), [], "files missing from the module graph");
  assert.ok(edges.some((e) => e.to === "src/kernels/kmeans.ts"), "the graph lists the imports");
  const areas = new Set(files.map(areaOf));
  assert.deepEqual([...areas].filter((a) => rank(a) < 0), [], "areas missing from LAYERS");
  const broken = violations(edges);
  assert.deepEqual(broken, [], `imports that break the layer order:\n${broken.join("\n")}`);
});
