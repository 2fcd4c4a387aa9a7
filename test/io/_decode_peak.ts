/**
 * Child process of test/io/memory_per_message_test.ts: decode one message file the way a source does and print
 * the peak resident memory it took, as JSON `{ base, peak, ok, error? }` (kB). The peak is the kernel's
 * high-water mark (`VmHWM`), reset after the file is read (`/proc/self/clear_refs`), so that it measures the
 * decode alone: no timing involved.
 *
 * Usage: deno run -A --v8-flags=--expose-gc test/io/_decode_peak.ts <ws-json|rosbridge-json|rosbridge-cbor> <file>
 */
import { decodeJsonEnvelope } from "../../src/io/websocket_source.ts";
import { parseRosbridgeBinary, parseRosbridgeText } from "../../src/io/rosbridge_protocol.ts";
import { decodeRosImageMessage } from "../../src/io/ros_messages.ts";

function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) : NaN;
}

const [mode, file] = Deno.args;
const bytes = await Deno.readFile(file);
// A text message arrives as a string (the socket decodes it): that string is part of the message's cost.
const text = mode === "rosbridge-cbor" ? "" : new TextDecoder().decode(bytes);
(globalThis as { gc?: () => void }).gc?.();
Deno.writeTextFileSync("/proc/self/clear_refs", "5");
const base = status("VmRSS");
let ok = true, error: string | undefined;
let keep: unknown;
try {
  if (mode === "ws-json") keep = decodeJsonEnvelope(text);
  else if (mode === "rosbridge-json") keep = decodeRosImageMessage(parseRosbridgeText(text).msg);
  else keep = decodeRosImageMessage(parseRosbridgeBinary(bytes).msg);
} catch (err) {
  ok = false;
  error = `${(err as Error).name}: ${(err as Error).message.slice(0, 200)}`;
}
const peak = status("VmHWM");
console.log(JSON.stringify({ base, peak, ok, error, kept: keep ? 1 : 0, held: bytes.length + text.length }));
