import { tempDir } from "../map/_tmp.ts";
/** Test helpers: write small datasets into temp folders. */
export async function tempDataset(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await tempDir("waymark_ds_");
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
  return dir;
}

/** Some bytes standing for an image (the dataset readers do not decode). */
export const FAKE = new Uint8Array([0xff, 0xd8, 0xff]);
