import { tempDir } from "../map/_tmp.ts";
import { encodeFake } from "../map/_fake.ts";

/** A retrieval dataset of fake images: queries 0..n-1 are noisy copies of database images, plus one unseen place. */
export async function fakeRetrievalDataset(n = 8): Promise<string> {
  const dir = await tempDir("waymark_evalds_");
  const pat = (i: number, noise: number) =>
    encodeFake(
      16,
      16,
      (x, y) => Math.min(255, (((x * (i + 3) + y * (2 * i + 1) + i * 37) * 7) % 200) + noise * ((x + y) % 3)),
    );
  const db: string[] = [], q: string[] = [], m: string[] = [];
  for (let i = 0; i < n; i++) {
    await Deno.writeFile(`${dir}/db_${i}.png`, pat(i, 0));
    db.push(`db_${i}.png`);
  }
  for (let i = 0; i < n; i++) {
    await Deno.writeFile(`${dir}/q_${i}.png`, pat(i, 5));
    q.push(`q_${i}.png`);
    m.push(`q_${i}.png,db_${i}.png`);
  }
  await Deno.writeFile(`${dir}/q_new.png`, pat(100, 0));
  q.push("q_new.png");
  await Deno.writeTextFile(`${dir}/database.csv`, `image\n${db.join("\n")}\n`);
  await Deno.writeTextFile(`${dir}/queries.csv`, `image\n${q.join("\n")}\n`);
  await Deno.writeTextFile(`${dir}/matches.csv`, `query,database\n${m.join("\n")}\n`);
  return dir;
}
