/**
 * Idempotent project set-up, run by `deno task demo|test|bench` before anything else.
 *
 * 1. `deno install`: npm dependencies into ./node_modules. Lifecycle scripts stay disabled on purpose:
 *    onnxruntime-node's postinstall only downloads CUDA binaries (its CPU binaries ship in the package),
 *    and sharp ships prebuilt binaries as optional dependencies.
 * 2. hnswlib-node's native addon: Deno does not run npm's implicit `node-gyp rebuild`, so we run it here
 *    (needs python3, make and a C++ compiler; about 10 s).
 *
 * A stamp file records the lock file's hash so that a second run costs a few milliseconds.
 */
const root = new URL("..", import.meta.url).pathname;
const stampPath = `${root}node_modules/.waymark-setup`;

function log(msg: string) {
  console.error(`[setup] ${msg}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr).split("\n").slice(-15).join("\n");
      log(`'${cmd} ${args.join(" ")}' failed in ${cwd}:\n${text}`);
    }
    return out.success;
  } catch (err) {
    log(`could not start '${cmd}': ${(err as Error).message}`);
    return false;
  }
}

async function fingerprint(): Promise<string> {
  const parts: string[] = [];
  for (const f of ["deno.json", "deno.lock"]) {
    try {
      parts.push(await Deno.readTextFile(`${root}${f}`));
    } catch { /* absent lock is fine */ }
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function findHnswDir(): Promise<string | null> {
  const base = `${root}node_modules/.deno`;
  if (!(await exists(base))) return null;
  for await (const e of Deno.readDir(base)) {
    if (e.isDirectory && e.name.startsWith("hnswlib-node@")) {
      return `${base}/${e.name}/node_modules/hnswlib-node`;
    }
  }
  return null;
}

async function main() {
  const fp = await fingerprint();
  const hnswDirBefore = await findHnswDir();
  const addonOk = hnswDirBefore !== null && await exists(`${hnswDirBefore}/build/Release/addon.node`);
  let stamp = "";
  try {
    stamp = (await Deno.readTextFile(stampPath)).trim();
  } catch { /* first run */ }
  if (stamp === fp && addonOk) return;

  log("installing npm dependencies (deno install)…");
  if (!(await run(Deno.execPath(), ["install", "--quiet"], root))) Deno.exit(1);
  // Deno warns "Ignored build scripts for packages: npm:sharp, npm:onnxruntime-node — Run deno approve-scripts";
  // leaving them unapproved is intended (see the module doc), which the warning does not say.
  log(
    "a Deno warning about ignored build scripts (sharp, onnxruntime-node) is expected: sharp ships prebuilt " +
      "binaries and onnxruntime-node's script only downloads CUDA binaries; do not run 'deno approve-scripts'",
  );

  const hnswDir = await findHnswDir();
  if (hnswDir === null) {
    log("hnswlib-node is missing from node_modules after 'deno install'");
    Deno.exit(1);
  }
  if (!(await exists(`${hnswDir}/build/Release/addon.node`))) {
    log("building hnswlib-node's native addon with node-gyp (about 10 s)…");
    const ok = await run("npx", ["--yes", "node-gyp", "rebuild"], hnswDir) ||
      await run(Deno.execPath(), ["run", "-A", "npm:node-gyp@11", "rebuild"], hnswDir);
    if (!ok) {
      log(
        "could not build hnswlib-node: install python3, make and g++ (Debian: apt-get install python3 make g++)",
      );
      Deno.exit(1);
    }
  }
  await Deno.writeTextFile(stampPath, fp + "\n");
  log("ready");
}

await main();
