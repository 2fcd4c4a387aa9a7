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

type Pub = { topic: string; msg: Record<string, unknown> };
const pubs = (server: FakeRosbridge, topic?: string): Pub[] =>
  (server.received.filter((o) => o.op === "publish") as unknown as Pub[]).filter((p) =>
    !topic || p.topic === topic
  );

Deno.test("RosbridgeSink advertises the standard topics and publishes events, pose, TF, markers, diagnostics", async () => {
  const server = await FakeRosbridge.start();
  const sink = new RosbridgeSink(server.url, {
    backoff: FAST,
    positionSigmaM: 2,
    frameId: "world",
    childFrameId: "base_link",
    places: [{ position: { x: 0, y: 0 } }, {}, { position: { x: 5, y: 1 } }],
  });
  const events = new Subject<WaymarkEvent>();
  const sub = sink.attach(events);
  try {
    await waitFor(() => sink.connected, "the connection");
    const hyps = Array.from({ length: 8 }, (_, i) => ({ placeId: i, similarity: 0.9 - i * 0.1, rank: i }));
    events.next({
      ...est(0, { position: { x: 1.5, y: -2 }, time: { sec: 1700000000, nanosec: 123456789 } }),
      hypotheses: hyps,
    });
    events.next(est(1)); // no position: no pose
    events.next(est(2, { position: { x: 0, y: 0 }, status: "lost", placeId: null })); // lost: no pose
    events.next({ kind: "stats", stamp: 1, received: 1, processed: 1, dropped: 0, errors: 0 });
    await waitFor(() => pubs(server, "/diagnostics").length === 1, "the diagnostics");
    const ops = server.received;
    assert.deepEqual(ops.filter((o) => o.op === "advertise").map((o) => [o.topic, o.type]), [
      ["/waymark/events", "std_msgs/String"],
      ["/waymark/pose", "geometry_msgs/PoseWithCovarianceStamped"],
      ["/tf", "tf2_msgs/TFMessage"],
      ["/waymark/loops", "std_msgs/String"],
      ["/waymark/markers", "visualization_msgs/MarkerArray"],
      ["/diagnostics", "diagnostic_msgs/DiagnosticArray"],
    ]);
    const texts = pubs(server, "/waymark/events").map((p) => JSON.parse(p.msg.data as string));
    assert.deepEqual(texts.map((t) => t.kind), ["estimate", "estimate", "estimate", "stats"]);
    assert.equal(texts[0].hypotheses.length, 5, "compact estimates: top 5");
    assert.deepEqual(texts[0].hypotheses, hyps.slice(0, 5));
    assert.deepEqual(texts[0].estimate.time, { sec: 1700000000, nanosec: 123456789 });
    const poses = pubs(server, "/waymark/pose");
    assert.equal(poses.length, 1);
    const pose = poses[0].msg as {
      header: { stamp: { secs: number; nsecs: number }; frame_id: string };
      pose: {
        pose: { position: Record<string, number>; orientation: Record<string, number> };
        covariance: number[];
      };
    };
    assert.deepEqual(pose.header.stamp, { secs: 1700000000, nsecs: 123456789 }, "the image's exact stamp");
    assert.equal(pose.header.frame_id, "world");
    assert.deepEqual(pose.pose.pose.position, { x: 1.5, y: -2, z: 0 });
    assert.deepEqual(pose.pose.pose.orientation, { x: 0, y: 0, z: 0, w: 1 });
    assert.equal(pose.pose.covariance.length, 36);
    assert.equal(pose.pose.covariance[0], 16); // (2 m / 0.5)^2: no other hypothesis has a position
    assert.equal(pose.pose.covariance[7], 16);
    assert.equal(pose.pose.covariance[14], 1e6);
    const tf = pubs(server, "/tf")[0].msg as { transforms: Record<string, unknown>[] };
    assert.equal(tf.transforms.length, 1);
    assert.deepEqual(tf.transforms[0], {
      header: { seq: 0, stamp: { secs: 1700000000, nsecs: 123456789 }, frame_id: "world" },
      child_frame_id: "base_link",
      transform: { translation: { x: 1.5, y: -2, z: 0 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
    });
    const markers = pubs(server, "/waymark/markers")[0].msg as { markers: Record<string, unknown>[] };
    assert.deepEqual(markers.markers.map((m) => [m.ns, m.id, m.type, m.action]), [
      ["waymark", 0, 8, 0],
      ["waymark", 1, 2, 0],
      ["waymark", 2, 5, 0],
    ]);
    assert.deepEqual(markers.markers[0].points, [{ x: 0, y: 0, z: 0 }, { x: 5, y: 1, z: 0 }]);
    const diag = pubs(server, "/diagnostics")[0].msg as {
      status: { level: number; name: string; values: { key: string }[] }[];
    };
    assert.equal(diag.status[0].name, "waymark: localization");
    assert.ok(diag.status[0].values.some((v) => v.key === "received"));
    assert.deepEqual(sink.stats, { published: 8, poses: 1, dropped: 0 });
  } finally {
    sub.unsubscribe();
    await sink.close();
    await server.close();
  }
  assert.equal(server.received.filter((o) => o.op === "unadvertise").length, 6);
});

Deno.test("RosbridgeSink: loop closures as waymark.loop/1 JSON with both exact stamps and an edge marker", async () => {
  const server = await FakeRosbridge.start();
  const sink = new RosbridgeSink(server.url, { backoff: FAST, fullEstimates: true });
  try {
    await waitFor(() => sink.connected, "the connection");
    const hyps = Array.from({ length: 8 }, (_, i) => ({ placeId: i, similarity: 0.5, rank: i }));
    sink.send({
      ...est(7, { position: { x: 10, y: 0 }, time: { sec: 1700000100, nanosec: 42 } }),
      hypotheses: hyps,
    });
    sink.send({
      kind: "loop",
      query: {
        seq: 7,
        stamp: 1700000100,
        time: { sec: 1700000100, nanosec: 42 },
        placeId: 7,
        image: "/cam@1700000100.000000042",
      },
      match: {
        placeId: 2,
        stamp: 1700000001,
        time: { sec: 1700000001, nanosec: 999999999 },
        image: "/cam@1700000001.999999999",
        position: { x: 9, y: 1 },
      },
      stamps: [1700000100, 1700000001],
      score: 0.8,
      confidence: 0.95,
      inliers: 31,
      transform: { model: "affine", matrix: [1, 0, 2, 0, 1, 3, 0, 0, 1] },
    });
    await waitFor(() => pubs(server, "/waymark/loops").length === 1, "the loop");
    const loop = JSON.parse(pubs(server, "/waymark/loops")[0].msg.data as string);
    assert.deepEqual(loop, {
      schema: "waymark.loop/1",
      query: {
        seq: 7,
        stamp: { sec: 1700000100, nanosec: 42, seconds: 1700000100.000000042 },
        place_id: 7,
        image: "/cam@1700000100.000000042",
        position: { x: 10, y: 0 },
      },
      match: {
        place_id: 2,
        stamp: { sec: 1700000001, nanosec: 999999999, seconds: 1700000001.999999999 },
        image: "/cam@1700000001.999999999",
        position: { x: 9, y: 1 },
      },
      confidence: 0.95,
      score: 0.8,
      frame_id: "map",
      inliers: 31,
      image_transform: { model: "affine", matrix: [1, 0, 2, 0, 1, 3, 0, 0, 1] },
      relative_position: { x: -1, y: 1, z: 0 },
    });
    const texts = pubs(server, "/waymark/events").map((p) => JSON.parse(p.msg.data as string));
    assert.equal(texts[0].hypotheses.length, 8, "fullEstimates keeps every hypothesis");
    const markers = pubs(server, "/waymark/markers").at(-1)!.msg as {
      markers: { id: number; points: unknown[] }[];
    };
    assert.deepEqual(markers.markers[2].points, [{ x: 10, y: 0, z: 0 }, { x: 9, y: 1, z: 0 }]);
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("RosbridgeSink uses ROS 2 names and stamps, drops (counts) while disconnected, re-advertises", async () => {
  const server = await FakeRosbridge.start();
  const sink = new RosbridgeSink(`rosbridge://127.0.0.1:${server.port}`, {
    backoff: FAST,
    rosVersion: 2,
    tfTopic: "",
    markersTopic: "",
  });
  try {
    sink.send(est(0)); // not connected yet
    assert.equal(sink.stats.dropped, 1);
    await waitFor(() => server.received.filter((o) => o.op === "advertise").length === 4, "advertise");
    server.dropAll();
    await waitFor(() => server.received.filter((o) => o.op === "advertise").length === 8, "re-advertise");
    await waitFor(() => sink.connected, "the reconnection");
    sink.send(
      est(1, { position: { x: 1, y: 2, z: 3 }, confidence: 1, time: { sec: 1700000001, nanosec: 7 } }),
    );
    await waitFor(() => pubs(server).length === 2, "publishes");
    assert.deepEqual(
      server.received.filter((o) => o.op === "advertise").slice(0, 4).map((o) => o.type),
      [
        "std_msgs/msg/String",
        "geometry_msgs/msg/PoseWithCovarianceStamped",
        "std_msgs/msg/String",
        "diagnostic_msgs/msg/DiagnosticArray",
      ],
    );
    const pose = pubs(server, "/waymark/pose")[0] as unknown as {
      msg: { header: Record<string, unknown>; pose: { covariance: number[] } };
    };
    assert.deepEqual(pose.msg.header, { stamp: { sec: 1700000001, nanosec: 7 }, frame_id: "map" });
    assert.equal(pose.msg.pose.covariance[14], 1, "z known: sigma^2");
  } finally {
    await sink.close();
    await server.close();
  }
  assert.throws(() => new RosbridgeSink("rosbridge://h", { tfTopic: "tf" }), /'tfTopic' must be a topic/);
  assert.throws(
    () => new RosbridgeSink("rosbridge://h", { frameId: "my frame" }),
    /'frameId' must be a frame name/,
  );
});

Deno.test("poseCovariance() spreads over the other positioned hypotheses by similarity, weighted by 1 - confidence", () => {
  const at = { x: 0, y: 0 };
  const hypotheses = [
    { placeId: 1, similarity: 0.9, rank: 0, position: at },
    { placeId: 2, similarity: 0.6, rank: 1, position: { x: 10, y: 0 } },
    { placeId: 3, similarity: 0.3, rank: 2, position: { x: 0, y: -10 } },
    { placeId: 4, similarity: 0.9, rank: 3 }, // no position: ignored
  ];
  const c = poseCovariance(0.7, 1, false, { at, placeId: 1, hypotheses });
  const w2 = 0.3 * 0.6 / 0.9, w3 = 0.3 * 0.3 / 0.9;
  const base = (1 / 0.7) ** 2;
  assert.ok(Math.abs(c[0] - (base + w2 * 100)) < 1e-9);
  assert.ok(Math.abs(c[7] - (base + w3 * 100)) < 1e-9);
  assert.equal(c[1], 0, "x and y spreads are along different places here");
  assert.equal(c[14], 1e6);
  const diag = poseCovariance(1, 1, false, { at, placeId: 1, hypotheses });
  assert.equal(diag[0], 1, "confidence 1: no spread");
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
