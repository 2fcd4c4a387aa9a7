/** Child process for the kill test: rewrites a map forever with 3, 4, 5, … places, printing each commit. */
import { writeMap } from "../../src/map/map_writer.ts";

const [dir] = Deno.args;
const enc = new TextEncoder();
for (let n = 3;; n++) {
  const descriptors = new Float32Array(n * 16).map((_, i) => ((i * 7919) % 13) / 13 + 0.01);
  const places = Array.from({ length: n }, (_, i) => ({ placeId: i, image: `v${n}_${i}.jpg`, stamp: i }));
  await writeMap(dir, {
    model: { name: "fake-grid", id: "fake-model-1", dim: 16, bundled: false },
    places,
    descriptors,
    index: { kind: "exact" },
    // A larger extra file so that a kill often lands part-way through a write.
    populate: (staging) => Deno.writeFile(`${staging}/padding.bin`, new Uint8Array(300_000).fill(n)),
  }, { replace: true });
  await Deno.stdout.write(enc.encode(`${n}\n`));
}
