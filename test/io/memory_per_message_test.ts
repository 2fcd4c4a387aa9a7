/**
 * Issue 14 item 5: the memory one message costs stays in proportion to the message. Each message (16 MB) is
 * decoded in a child process that reports its peak resident memory (the kernel's high-water mark, reset once
 * the message is in memory: see `_decode_peak.ts`), so the check involves no timing. Budget: 4 x the message
 * plus 32 MB. Messages that would blow it (byte data as millions of JSON or CBOR numbers) are refused before
 * they are parsed.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodeCbor } from "../../src/io/cbor.ts";
import { tempDir } from "../map/_tmp.ts";

const CHILD = new URL("./_decode_peak.ts", import.meta.url).pathname;
const MB = 1024 * 1024;
const SIZE = 16 * MB;
const W = 4096;

let procOk = false;
try {
  Deno.readTextFileSync("/proc/self/status");
  procOk = true;
} catch { /* not Linux */ }

interface Peak {
  base: number;
  peak: number;
  ok: boolean;
  error?: string;
}

async function peakOf(mode: string, file: string): Promise<Peak> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--v8-flags=--expose-gc", CHILD, mode, file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout).trim();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return JSON.parse(out.split("\n").at(-1)!);
}

const header = { stamp: { secs: 1, nsecs: 0 }, frame_id: "cam" };
const rawMsg = (height: number, data: unknown) => ({
  header,
  height,
  width: W,
  encoding: "mono8",
  is_bigendian: 0,
  step: W,
  data,
});
const pixels = (n: number) => new Uint8Array(n).map((_, i) => (i * 7) & 255);

/** The cases: name, decode mode, file contents, whether the message must decode. */
function cases(): { name: string; mode: string; bytes: () => Uint8Array; accepted: boolean }[] {
  const enc = new TextEncoder();
  const b64Height = Math.floor((SIZE * 3) / 4 / W);
  const b64 = () => Buffer.from(pixels(W * b64Height)).toString("base64");
  const zerosHeight = Math.floor(SIZE / 2 / W);
  const zeros = () => "[" + new Array(W * zerosHeight).fill("0").join(",") + "]";
  return [
    {
      name: "WebSocket JSON envelope, base64 data",
      mode: "ws-json",
      bytes: () =>
        enc.encode(
          `{"stamp":1,"frame_id":"c","format":"mono8","width":${W},"height":${b64Height},"data":"${b64()}"}`,
        ),
      accepted: true,
    },
    {
      name: "WebSocket JSON envelope, data as an array of numbers",
      mode: "ws-json",
      bytes: () =>
        enc.encode(
          `{"stamp":1,"frame_id":"c","format":"mono8","width":${W},"height":${zerosHeight},"data":${zeros()}}`,
        ),
      accepted: false,
    },
    {
      name: "rosbridge JSON publish, base64 data",
      mode: "rosbridge-json",
      bytes: () => enc.encode(JSON.stringify({ op: "publish", topic: "/c", msg: rawMsg(b64Height, b64()) })),
      accepted: true,
    },
    {
      name: "rosbridge JSON publish, data as an array of numbers",
      mode: "rosbridge-json",
      bytes: () =>
        enc.encode(
          JSON.stringify({ op: "publish", topic: "/c", msg: rawMsg(zerosHeight, "@") }).replace(
            '"@"',
            zeros(),
          ),
        ),
      accepted: false,
    },
    {
      name: "rosbridge CBOR publish, data as a byte string",
      mode: "rosbridge-cbor",
      bytes: () => encodeCbor({ op: "publish", topic: "/c", msg: rawMsg(SIZE / W, pixels(SIZE)) }),
      accepted: true,
    },
    {
      name: "rosbridge CBOR publish, data as an array of numbers",
      mode: "rosbridge-cbor",
      bytes: () => encodeCbor({ op: "publish", topic: "/c", msg: rawMsg(SIZE / W, new Array(SIZE).fill(0)) }),
      accepted: false,
    },
  ];
}

Deno.test({
  name: "peak memory per message stays within 4x the message plus 32 MB (16 MB messages, JSON and CBOR)",
  ignore: !procOk,
  fn: async () => {
    const dir = await tempDir();
    const rows: string[] = [];
    for (const [i, c] of cases().entries()) {
      const file = `${dir}/m${i}`;
      const bytes = c.bytes();
      await Deno.writeFile(file, bytes);
      const p = await peakOf(c.mode, file);
      await Deno.remove(file);
      const usedMb = (p.peak - p.base) / 1024;
      const sizeMb = bytes.length / MB;
      rows.push(
        `${c.name}: ${sizeMb.toFixed(1)} MB -> ${usedMb.toFixed(1)} MB (${p.ok ? "decoded" : p.error})`,
      );
      assert.equal(p.ok, c.accepted, `${c.name}: ${p.error ?? "decoded"}`);
      if (!c.accepted) assert.match(p.error!, /values|items/, c.name);
      assert.ok(usedMb <= 4 * sizeMb + 32, `${c.name}: ${usedMb.toFixed(1)} MB for ${sizeMb.toFixed(1)} MB`);
    }
    console.log(rows.join("\n"));
  },
});
