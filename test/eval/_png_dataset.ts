import { encodeImage } from "../../src/io/simulator/encode.ts";
import { mulberry32 } from "../../src/_rng.ts";
import { tempDir } from "../map/_tmp.ts";

/** A retrieval dataset of real PNG images: query i shows database place i (with a little noise). */
export async function pngRetrievalDataset(n: number): Promise<string> {
  const dir = await tempDir("waymark_pngds_");
  const img = async (place: number, noise: number, name: string) => {
    const r = mulberry32(place * 7 + noise);
    const data = new Uint8Array(32 * 24 * 3);
    for (let i = 0; i < data.length; i++) data[i] = ((i * (place + 3)) % 190) + 40 + Math.floor(r() * noise);
    await Deno.writeFile(
      `${dir}/${name}`,
      await encodeImage({ width: 32, height: 24, channels: 3, data }, "png"),
    );
  };
  const db: string[] = [], q: string[] = [], m: string[] = [];
  for (let i = 0; i < n; i++) {
    await img(i, 0, `db_${i}.png`);
    await img(i, 9, `q_${i}.png`);
    db.push(`db_${i}.png`);
    q.push(`q_${i}.png`);
    m.push(`q_${i}.png,db_${i}.png`);
  }
  await Deno.writeTextFile(`${dir}/database.csv`, `image\n${db.join("\n")}\n`);
  await Deno.writeTextFile(`${dir}/queries.csv`, `image\n${q.join("\n")}\n`);
  await Deno.writeTextFile(`${dir}/matches.csv`, `query,database\n${m.join("\n")}\n`);
  return dir;
}
