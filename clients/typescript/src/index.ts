// The idc TypeScript client: generated idc.v1 types plus the helpers of the Go and Python clients.

export {
  type Entry,
  type Param,
  type Parameter,
  type Params,
  entries,
  entry,
  fn,
  formula,
  paramValue,
  plainValue,
} from "./catalogue.js";
export { DEFAULT_TARGET, IdcClient } from "./client.js";
export { type DateLike, dateFromEpochDay, epochDay, formatDate, parseDate } from "./dates.js";
export {
  Code,
  type FieldViolation,
  IdcError,
  IntegrityError,
  ProtocolError,
  codeFromName,
  codeName,
  fieldViolations,
  toIdcError,
} from "./errors.js";
export { type Image, type ImageMessage, assembleImage } from "./image.js";
export {
  type CallOptions,
  type ClientOptions,
  DEFAULT_MAX_RECEIVE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type TlsOptions,
  checkToken,
  tlsFromFiles,
} from "./options.js";
export * from "./queries.js";
export {
  type Bar,
  ColumnError,
  type IndicatorFrame,
  type MACDRow,
  type SymbolRow,
  barRows,
  barsFromRows,
  indicatorFrame,
  macdRows,
  symbolRows,
} from "./rows.js";
export * from "../gen/idc/v1/bars_pb.js";
export * from "../gen/idc/v1/catalogue_pb.js";
export * from "../gen/idc/v1/indicators_pb.js";
export * from "../gen/idc/v1/indicator_service_pb.js";
export * from "../gen/idc/v1/indicator_graph_service_pb.js";
