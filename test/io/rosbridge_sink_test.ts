import assert from "node:assert/strict";
import { Subject } from "rxjs";
import { FakeRosbridge } from "../_fake_rosbridge.ts";
import { poseCovariance, RosbridgeSink } from "../../src/io/rosbridge_sink.ts";
import type { EstimateEvent, WaymarkEvent } from "../../src/types.ts";
import { waitFor } from "./_collect.ts";

const FAST = { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 };
const est = (seq: number, extra: Partial<EstimateEvent["estimate"]> = {}): EstimateEvent => ({
  kind: "estimate",
  estimate: { stamp: 1700000000.25 + seq, seq, placeId: 3, confidence: 0.5, status: "localized", ...extra },
  hypotheses: [],
  latencyMs: 2,
});

Deno.test("RosbridgeSink advertises, publishes every event as std_msgs/String and metric estimates as poses", async () => {
  const server = await FakeRosbridge.start();
  const sink = new RosbridgeSink(server.url, { backoff: FAST, positionSigmaM: 2 });
  const events = new Subject<WaymarkEvent>();
  const sub = sink.attach(events);
  try {
    await waitFor(() => sink.connected, "the connection");
    events.next(est(0, { position: { x: 1.5, y: -2 } }));
    events.next(est(1)); // no position: no pose
    events.next(est(2, { position: { x: 0, y: 0 }, status: "lost", placeId: null })); // lost: no pose
    events.next({ kind: "stats", stamp: 1, received: 1, processed: 1, dropped: 0, errors: 0 });
    await waitFor(() => server.received.filter((o) => o.op === "publish").length === 5, "five publishes");
    const ops = server.received;
    assert.deepEqual(ops.filter((o) => o.op === "advertise").map((o) => [o.topic, o.type]), [
      ["/waymark/events", "std_msgs/String"],
      ["/waymark/pose", "geometry_msgs/PoseWithCovarianceStamped"],
    ]);
    const pubs = ops.filter((o) => o.op === "publish") as { topic: string; msg: Record<string, unknown> }[];
    const texts = pubs.filter((p) => p.topic === "/waymark/events").map((p) =>
      JSON.parse(p.msg.data as string)
    );
    assert.deepEqual(texts.map((t) => t.kind), ["estimate", "estimate", "estimate", "stats"]);
    assert.deepEqual(texts[0], est(0, { position: { x: 1.5, y: -2 } }));
    const poses = pubs.filter((p) => p.topic === "/waymark/pose");
    assert.equal(poses.length, 1);
    const pose = poses[0].msg as {
      header: { stamp: { secs: number; nsecs: number }; frame_id: string };
      pose: {
        pose: { position: Record<string, number>; orientation: Record<string, number> };
        covariance: number[];
      };
    };
    assert.deepEqual(pose.header.stamp, { secs: 1700000000, nsecs: 250000000 });
    assert.equal(pose.header.frame_id, "map");
    assert.deepEqual(pose.pose.pose.position, { x: 1.5, y: -2, z: 0 });
    assert.deepEqual(pose.pose.pose.orientation, { x: 0, y: 0, z: 0, w: 1 });
    assert.equal(pose.pose.covariance.length, 36);
    assert.equal(pose.pose.covariance[0], 16); // (2 m / 0.5)^2
    assert.equal(pose.pose.covariance[7], 16);
    assert.equal(pose.pose.covariance[14], 1e6);
    assert.deepEqual(sink.stats, { published: 5, poses: 1, dropped: 0 });
  } finally {
    sub.unsubscribe();
    await sink.close();
    await server.close();
  }
  assert.ok(server.received.some((o) => o.op === "unadvertise"));
});

Deno.test("RosbridgeSink uses ROS 2 names, drops (counts) while disconnected and re-advertises after a reconnect", async () => {
  const server = await FakeRosbridge.start();
  const sink = new RosbridgeSink(`rosbridge://127.0.0.1:${server.port}`, { backoff: FAST, rosVersion: 2 });
  try {
    sink.send(est(0)); // not connected yet
    assert.equal(sink.stats.dropped, 1);
    await waitFor(() => server.received.filter((o) => o.op === "advertise").length === 2, "advertise");
    server.dropAll();
    await waitFor(() => server.received.filter((o) => o.op === "advertise").length === 4, "re-advertise");
    await waitFor(() => sink.connected, "the reconnection");
    sink.send(est(1, { position: { x: 1, y: 2, z: 3 }, confidence: 1 }));
    await waitFor(() => server.received.filter((o) => o.op === "publish").length === 2, "publishes");
    const adv = server.received.find((o) => o.op === "advertise" && o.topic === "/waymark/pose");
    assert.equal(adv?.type, "geometry_msgs/msg/PoseWithCovarianceStamped");
    const pose = server.received.find((o) => o.op === "publish" && o.topic === "/waymark/pose") as {
      msg: { header: { stamp: unknown }; pose: { covariance: number[] } };
    };
    assert.deepEqual(pose.msg.header.stamp, { sec: 1700000001, nanosec: 250000000 });
    assert.equal(pose.msg.pose.covariance[14], 1, "z known: sigma^2");
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("poseCovariance() grows as confidence falls and clamps at 0.05", () => {
  assert.equal(poseCovariance(1, 1, true)[0], 1);
  assert.equal(poseCovariance(0.5, 1, true)[0], 4);
  assert.equal(poseCovariance(0, 1, true)[0], 400);
  assert.equal(poseCovariance(NaN, 1, true)[0], 400);
  const c = poseCovariance(0.9, 1, false);
  assert.deepEqual([c[21], c[28], c[35], c[14]], [1e6, 1e6, 1e6, 1e6]);
  assert.equal(c.filter((v, i) => i % 7 !== 0 && v !== 0).length, 0, "off-diagonal terms are zero");
});
