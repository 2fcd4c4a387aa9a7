import assert from "node:assert/strict";
import { BridgeProtocolError } from "../../src/errors.ts";
import { formatTime, rosStamp, secondsOf, timeOfSeconds, timeOfStamp } from "../../src/io/ros_time.ts";

Deno.test("timeOfStamp() keeps every nanosecond of both ROS shapes; zero or absent is unset", () => {
  for (const nanosec of [0, 1, 42, 123456789, 999999999]) {
    assert.deepEqual(timeOfStamp({ secs: 1700000000, nsecs: nanosec }), { sec: 1700000000, nanosec });
    assert.deepEqual(timeOfStamp({ sec: 1700000000, nanosec }), { sec: 1700000000, nanosec });
  }
  assert.deepEqual(timeOfStamp({ secs: 5, nsecs: 1_500_000_000 }), { sec: 6, nanosec: 500_000_000 });
  assert.equal(timeOfStamp({ secs: 0, nsecs: 0 }), null);
  assert.equal(timeOfStamp(undefined), null);
  assert.throws(() => timeOfStamp({ secs: "x" }), BridgeProtocolError);
  assert.throws(() => timeOfStamp({ secs: 1.5, nsecs: 0 }), /non-negative integers/);
  assert.throws(() => timeOfStamp({ secs: 1, nsecs: -1 }), /non-negative integers/);
});

Deno.test("a float cannot carry a present-day stamp's nanoseconds; the exact time goes out unchanged", () => {
  const t = { sec: 1700000000, nanosec: 123456789 };
  // The float round trip loses nanoseconds (the reason for ExactTime)...
  assert.notDeepEqual(timeOfSeconds(secondsOf(t)), t);
  // ...the exact path does not.
  assert.deepEqual(rosStamp(t, 1), { secs: 1700000000, nsecs: 123456789 });
  assert.deepEqual(rosStamp(t, 2), { sec: 1700000000, nanosec: 123456789 });
  assert.equal(formatTime({ sec: 3, nanosec: 42 }), "3.000000042");
  assert.deepEqual(timeOfSeconds(2.9999999999), { sec: 3, nanosec: 0 });
});
