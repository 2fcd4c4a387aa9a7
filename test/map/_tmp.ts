/** Temporary folders for tests, removed when the test process exits. */
const made: string[] = [];
let hooked = false;

/** A fresh temporary folder, removed (with everything beside it named `<folder>*`) at process exit. */
export async function tempDir(prefix = "waymark_test_"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  if (!hooked) {
    hooked = true;
    globalThis.addEventListener("unload", () => {
      for (const d of made) {
        const parent = d.slice(0, d.lastIndexOf("/")), base = d.slice(d.lastIndexOf("/") + 1);
        for (const e of Deno.readDirSync(parent)) {
          if (e.name.startsWith(base)) {
            try {
              Deno.removeSync(`${parent}/${e.name}`, { recursive: true });
            } catch { /* already gone */ }
          }
        }
      }
    });
  }
  return dir;
}
