/**
 * The ROS options of the streaming commands (`localize`, `slam`): how a `rosbridge://` source subscribes, and
 * `--ros-publish [URL]`, whose value is optional (alone, before another flag, or as `--ros-publish=`, it means
 * the source's bridge).
 * @module
 */
import { invalid } from "../errors.ts";
import { rosbridgeSource, type RosbridgeSourceOptions } from "../io/rosbridge_source.ts";
import type { RosbridgeSinkOptions } from "../io/rosbridge_sink.ts";
import { parseRosbridgeCompression, parseRosTypeName } from "../io/rosbridge_protocol.ts";

/** `parseArgs` options (merged into the streaming commands' options). */
export const ROS_OPTIONS = {
  "ros-publish": { type: "string" },
  "ros-compression": { type: "string" },
  "ros-type": { type: "string" },
  "ros-throttle": { type: "string" },
  "ros-queue": { type: "string" },
  "ros-fragment-size": { type: "string" },
  "ros-idle-warn": { type: "string" },
  "ros-version": { type: "string" },
  "ros-frame-id": { type: "string" },
  "ros-child-frame": { type: "string" },
  "ros-full-estimates": { type: "boolean", default: false },
} as const;

/** Help lines of the source options (the commands list `--ros-publish` with their sinks). */
export const ROS_SOURCE_HELP =
  `ROS (rosbridge:// sources; the URL query may set the same: ?compression=cbor&type=...&throttle_rate=
&queue_length=&fragment_size=; a flag wins over the URL):
  --ros-compression C  none | cbor | cbor-raw | png                                         default none
  --ros-type T         message type, e.g. sensor_msgs/CompressedImage or sensor_msgs/msg/Image
                       (default: asked from rosapi, else from the topic name, with a warning)
  --ros-throttle MS    minimum ms between messages, applied by the bridge                   default 0
  --ros-queue N        the bridge's queue length (1 keeps only the latest)                  default 1
  --ros-fragment-size B  ask the bridge to split messages larger than B bytes (not with cbor, cbor-raw)
  --ros-idle-warn S    warn when no message arrives for S seconds after subscribing, then
                       again at doubling intervals (0: never)                              default 5
  --ros-version V      1 | 2: type names (sensor_msgs/msg/...) and stamp shapes
                       (default: 2 when --ros-type or ?type= is a ROS 2 name, else 1)
  --ros-frame-id F     --ros-publish: frame of poses, markers and the TF parent              default map
  --ros-child-frame F  --ros-publish: the TF child frame                                     default camera
  --ros-full-estimates --ros-publish: estimates carry every hypothesis (default: the top 5)`;

/** The option values this module reads. */
export interface RosOptionValues {
  source?: string;
  "ros-publish"?: string;
  "ros-compression"?: string;
  "ros-type"?: string;
  "ros-throttle"?: string;
  "ros-queue"?: string;
  "ros-fragment-size"?: string;
  "ros-idle-warn"?: string;
  "ros-version"?: string;
  "ros-frame-id"?: string;
  "ros-child-frame"?: string;
  "ros-full-estimates"?: boolean;
}

/**
 * Give `--ros-publish` its optional value: when it is the last argument or the next one is a flag, it becomes
 * `--ros-publish=` (the source's bridge), which `parseArgs` (no optional values) accepts.
 */
export function withOptionalRosPublish(args: string[]): string[] {
  return args.map((a, i) => {
    if (a !== "--ros-publish") return a;
    const next = args[i + 1];
    return next === undefined || next.startsWith("-") ? "--ros-publish=" : a;
  });
}

function isRosbridge(spec: string | undefined): boolean {
  return spec !== undefined && /^rosbridges?:\/\//i.test(spec);
}

/**
 * `--ros-version`: 1 or 2; when absent, 2 if the given type (`--ros-type` or the URL's `?type=`) is a ROS 2 name
 * (`sensor_msgs/msg/...`), else 1.
 */
export function rosVersionOption(action: string, v: RosOptionValues): 1 | 2 {
  const value = v["ros-version"];
  if (value === "1") return 1;
  if (value === "2") return 2;
  if (value !== undefined) throw invalid(action, "ros-version", "1 or 2", value);
  let type = v["ros-type"];
  if (type === undefined && isRosbridge(v.source)) {
    try {
      type = new URL(v.source!).searchParams.get("type") ?? undefined;
    } catch { /* the source reports a bad URL itself */ }
  }
  return type?.includes("/msg/") ? 2 : 1;
}

/**
 * The rosbridge source options named by the flags. Flags other than `--ros-version` given with a source that
 * is not `rosbridge://` are an error naming them.
 * @throws ValidationError naming the flag and the value.
 */
export function rosbridgeSourceOptions(action: string, v: RosOptionValues): RosbridgeSourceOptions {
  const given = (["ros-compression", "ros-type", "ros-throttle", "ros-queue", "ros-fragment-size"] as const)
    .filter((k) => v[k] !== undefined);
  if (given.length > 0 && !isRosbridge(v.source)) {
    throw invalid(action, given[0], `given only with a rosbridge:// source (--${given[0]})`, v.source);
  }
  const out: RosbridgeSourceOptions = { rosVersion: rosVersionOption(action, v) };
  if (v["ros-compression"] !== undefined) {
    try {
      out.compression = parseRosbridgeCompression(action, v["ros-compression"]);
    } catch {
      throw invalid(action, "ros-compression", "one of none, cbor, cbor-raw, png", v["ros-compression"]);
    }
  }
  if (v["ros-type"] !== undefined) {
    try {
      out.type = parseRosTypeName(action, v["ros-type"]);
    } catch {
      throw invalid(
        action,
        "ros-type",
        "a ROS image type: sensor_msgs/CompressedImage or sensor_msgs/Image (or sensor_msgs/msg/...)",
        v["ros-type"],
      );
    }
  }
  const int = (flag: "ros-throttle" | "ros-queue" | "ros-fragment-size", min: number): number | undefined => {
    const s = v[flag];
    if (s === undefined) return undefined;
    const n = Number(s);
    if (s.trim() === "" || !Number.isInteger(n) || n < min) {
      throw invalid(action, flag, `an integer >= ${min}`, s);
    }
    return n;
  };
  out.throttleRate = int("ros-throttle", 0);
  out.queueLength = int("ros-queue", 1);
  out.fragmentSize = int("ros-fragment-size", 1);
  const idle = v["ros-idle-warn"] === undefined ? 5 : Number(v["ros-idle-warn"]);
  if (!(idle >= 0 && idle <= 86_400) || v["ros-idle-warn"]?.trim() === "") {
    throw invalid(action, "ros-idle-warn", "seconds in [0, 86400]", v["ros-idle-warn"]);
  }
  out.idleTimeoutMs = Math.round(idle * 1000);
  for (const k of Object.keys(out) as (keyof RosbridgeSourceOptions)[]) {
    if (out[k] === undefined) delete out[k];
  }
  // Settle every option (with the URL's query) now, before a map or model is loaded: a source is only a
  // description until something subscribes to it.
  if (isRosbridge(v.source)) rosbridgeSource(v.source!, out);
  return out;
}

/**
 * The bridge URL `--ros-publish` names: its value, or, when empty (`--ros-publish` alone), the bridge of a
 * `rosbridge://` source. Undefined when the flag is absent.
 * @throws ValidationError when it is empty and the source is not a rosbridge one.
 */
export function rosPublishUrl(action: string, v: RosOptionValues): string | undefined {
  const value = v["ros-publish"];
  if (value === undefined) return undefined;
  if (value !== "") return value;
  if (!isRosbridge(v.source)) {
    throw invalid(
      action,
      "ros-publish",
      "a rosbridge URL (rosbridge://host:port) unless --source is a rosbridge:// topic",
      value,
    );
  }
  return v.source!.replace(/^(rosbridges?:\/\/[^/?#]+).*$/i, "$1");
}

/** The rosbridge sink options named by the flags (`places`: the map's, for the markers). */
export function rosSinkOptions(
  action: string,
  v: RosOptionValues,
  places?: RosbridgeSinkOptions["places"],
): RosbridgeSinkOptions {
  const out: RosbridgeSinkOptions = {
    rosVersion: rosVersionOption(action, v),
    fullEstimates: v["ros-full-estimates"] ?? false,
  };
  if (v["ros-frame-id"] !== undefined) out.frameId = v["ros-frame-id"];
  if (v["ros-child-frame"] !== undefined) out.childFrameId = v["ros-child-frame"];
  if (places) out.places = places;
  return out;
}
