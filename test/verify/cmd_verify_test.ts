import assert from "node:assert/strict";
import sharp from "sharp";
import { run } from "../../src/cli/cmd_verify.ts";
import { blankImage, shifted, texturedImage } from "./_synthetic.ts";
import type { PixelImage } from "../../src/types.ts";
import { modelDir } from "./_tiny_delf.ts";

async function writePng(path: string, img: PixelImage): Promise<void> {
  await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } }).png()
    .toFile(path);
}

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    console.log = orig;
  }
}

Deno.test("waymark verify writes a side-by-side PNG and an attention PNG and prints the result", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = texturedImage(256, 192, 5);
    await writePng(`${dir}/a.png`, a);
    await writePng(`${dir}/b.png`, shifted(a, 12, 8));
    const { code, out } = await capture(() =>
      run([
        `${dir}/a.png`,
        `${dir}/b.png`,
        "--out",
        `${dir}/pair.png`,
        "--attention-out",
        `${dir}/att.png`,
        "--json",
      ])
    );
    assert.equal(code, 0);
    const result = JSON.parse(out);
    assert.ok(result.inliers > 20, out);
    assert.equal(result.transform.model, "affine");
    const meta = await sharp(`${dir}/pair.png`).metadata();
    assert.equal(meta.width, 512);
    // The images under the verdict banner; the attention map with its colour scale beside it.
    assert.ok(meta.height! > 192 + 20 && meta.height! <= 192 + 40, `height ${meta.height}`);
    assert.equal((await sharp(`${dir}/att.png`).metadata()).width, 256 + 64);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("waymark verify reports a blank image with a reason, and usage errors with exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writePng(`${dir}/blank.png`, blankImage(128, 96));
    await writePng(`${dir}/t.png`, texturedImage(128, 96, 6));
    const { code, out } = await capture(() =>
      run([`${dir}/blank.png`, `${dir}/t.png`, "--out", `${dir}/p.png`])
    );
    assert.equal(code, 0);
    assert.match(out, /NOT VERIFIED: .*no keypoints \(blank or textureless\)/);
    assert.ok((await Deno.stat(`${dir}/p.png`)).size > 0);
    const origErr = console.error;
    console.error = () => {};
    try {
      assert.equal(await run([`${dir}/t.png`]), 2);
      assert.equal(await run([`${dir}/t.png`, `${dir}/t.png`]), 2);
    } finally {
      console.error = origErr;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("waymark verify --delf runs a bring-your-own DELF model (feature map + attention map contract)", async () => {
  const dir = await modelDir();
  try {
    const a = texturedImage(256, 192, 7);
    await writePng(`${dir}/a.png`, a);
    await writePng(`${dir}/b.png`, shifted(a, 16, 8));
    const { code, out } = await capture(() =>
      run([`${dir}/a.png`, `${dir}/b.png`, "--delf", dir, "--out", `${dir}/pair.png`, "--json"])
    );
    assert.equal(code, 0);
    const result = JSON.parse(out);
    assert.ok(result.ok && result.inliers >= 20, out);
    assert.ok(Math.abs(result.transform.matrix[2] - 16) < 4, out);
    await assert.rejects(
      () => run([`${dir}/a.png`, `${dir}/b.png`, "--delf", `${dir}/missing`, "--out", `${dir}/p.png`]),
      /Cannot load DELF model/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
