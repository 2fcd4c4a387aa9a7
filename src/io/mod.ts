/**
 * `@waymark/waymark/io`: Frame sources (WebSocket, rosbridge, replay, simulator), event sinks (WebSocket,
 * rosbridge, JSONL), raw frames and the simulated camera (`src/io`).
 *
 * @module
 */
export {
  connectionEvent,
  errorEvent,
  type FrameSource,
  type SourceCounters,
  type SourceEvent,
} from "./frame_source.ts";
export { type DatasetList, openFrameSource, type OpenFrameSourceOptions } from "./open_source.ts";
export { WebSocketSource, websocketSource, type WebSocketSourceOptions } from "./websocket_source.ts";
export { RosbridgeSource, rosbridgeSource, type RosbridgeSourceOptions } from "./rosbridge_source.ts";
export { type ReplayEntry, ReplaySource, replaySource, type ReplaySourceOptions } from "./replay_source.ts";
export { createSimulatorSource, simulatorSource, type SimulatorSourceOptions } from "./simulator_source.ts";
export {
  parsePublishUrl,
  WebSocketSink,
  type WebSocketSinkOptions,
  type WebSocketSinkStats,
} from "./websocket_sink.ts";
export {
  poseCovariance,
  RosbridgeSink,
  type RosbridgeSinkOptions,
  type RosbridgeSinkStats,
} from "./rosbridge_sink.ts";
export { JsonlSink, type JsonlSinkOptions, type JsonlSinkStats } from "./jsonl_sink.ts";
export { decodeRawFrame, encodeRawFrame, type RawFrame, type RawFrameInput } from "./raw_frame.ts";
export { type BackoffOptions } from "./backoff.ts";
export { parseRosbridgeUrl, type RosbridgeCompression } from "./rosbridge_protocol.ts";
export { createSimulator, type Simulator, type SimulatorOptions } from "./simulator/simulator.ts";
export { type ExportOptions, exportSimDataset, type ExportSummary } from "./simulator/export.ts";
export {
  CONDITION_NAMES,
  type ConditionName,
  type TraversalSetup,
  traversalSetup,
} from "./simulator/conditions.ts";
export { loopPairs, retrievalMatches, samePlace } from "./simulator/ground_truth.ts";
export { openBagSource } from "./bag_source.ts";
export { openMcapSource } from "./mcap_source.ts";
export { FoxgloveSink, type FoxgloveSinkOptions } from "./foxglove_sink.ts";
export { StampBook, TumSink } from "./tum_sink.ts";
export { LoopsSink } from "./loops_sink.ts";
export { readRecordingImages, readRecordingLoopDataset, readRecordingTruth } from "./recording_dataset.ts";
