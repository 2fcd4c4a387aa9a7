/** Child process for the lock tests: takes a map folder's lock, says so, and holds it until stdin closes. */
import { acquireMapLock } from "../../src/map/lock.ts";

const lock = await acquireMapLock(Deno.args[0], { command: "lock-holder test" });
await Deno.stdout.write(new TextEncoder().encode("locked\n"));
for await (const _ of Deno.stdin.readable) { /* hold until the parent closes stdin */ }
await lock.release();
