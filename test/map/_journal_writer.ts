/** Child process for the kill test: appends keyframes forever, printing each id once its append resolved. */
import { KeyframeJournal } from "../../src/map/journal.ts";

const [path, policy] = Deno.args;
const j = await KeyframeJournal.open(path, {
  dim: 64,
  fsync: policy === "always" ? "always" : policy === "never" ? "never" : { intervalMs: Number(policy) },
});
const enc = new TextEncoder();
for (let i = j.count;; i++) {
  const local = new Uint8Array(5000 + (i % 7) * 1000).fill(i & 0xff); // records of several KB
  await j.append({
    placeId: i,
    stamp: i,
    meta: { image: `f${i}` },
    descriptor: new Float32Array(64).fill(i),
    local,
  });
  await Deno.stdout.write(enc.encode(`${i}\n`));
}
