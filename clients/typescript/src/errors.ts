// Typed errors: every failure of an IdcClient call is an IdcError with the
// gRPC status code and the google.rpc.BadRequest field violations that the
// server sends in the grpc-status-details-bin trailer.

import { Code, ConnectError } from "@connectrpc/connect";

import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";

export { Code };

/** One google.rpc.BadRequest field violation: the request field at fault and what is wrong with it. */
export interface FieldViolation {
  /** The field path, e.g. "start_date", "parameters.fast_period" or "panels[1].rsi.period". */
  readonly field: string;
  /** What is wrong with the field's value. */
  readonly description: string;
}

/** The gRPC name of a status code, e.g. "INVALID_ARGUMENT" for `Code.InvalidArgument`. */
export function codeName(code: Code): string {
  const name = Code[code];
  return name === undefined ? `CODE_${code}` : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The status code whose gRPC name is `name`, e.g. `Code.NotFound` for "NOT_FOUND". */
export function codeFromName(name: string): Code {
  for (const value of Object.values(Code)) {
    if (typeof value === "number" && codeName(value) === name) {
      return value;
    }
  }
  throw new RangeError(`unknown gRPC status code name ${JSON.stringify(name)}`);
}

/** A failed call: the gRPC status of the server's answer, or of what the client found wrong. */
export class IdcError extends Error {
  override readonly name: string = "IdcError";
  /** The gRPC status code, e.g. `Code.InvalidArgument` (3). */
  readonly code: Code;
  /** The server's status message (the gRPC status details string). */
  readonly rawMessage: string;
  /** The field violations of the BadRequest details; empty when there are none. */
  readonly fieldViolations: readonly FieldViolation[];

  constructor(code: Code, rawMessage: string, fieldViolations: readonly FieldViolation[] = [], options?: ErrorOptions) {
    super(`${codeName(code)}: ${rawMessage}`, options);
    this.code = code;
    this.rawMessage = rawMessage;
    this.fieldViolations = fieldViolations;
  }

  /** The gRPC name of the code, e.g. "INVALID_ARGUMENT". */
  get codeName(): string {
    return codeName(this.code);
  }

  /** The field paths of the violations, in order. */
  get fields(): string[] {
    return this.fieldViolations.map((violation) => violation.field);
  }
}

/** The server broke the protocol of a chart stream (no metadata, a chunk before it, metadata twice). Code INTERNAL. */
export class ProtocolError extends IdcError {
  override readonly name: string = "ProtocolError";

  constructor(message: string) {
    super(Code.Internal, message);
  }
}

/** The reassembled image does not match its metadata (length or SHA-256). Code DATA_LOSS. */
export class IntegrityError extends IdcError {
  override readonly name: string = "IntegrityError";

  constructor(message: string) {
    super(Code.DataLoss, message);
  }
}

/** The BadRequest field violations carried by `error`, a ConnectError from a call; empty for anything else. */
export function fieldViolations(error: unknown): FieldViolation[] {
  if (error instanceof IdcError) {
    return [...error.fieldViolations];
  }
  if (!(error instanceof ConnectError)) {
    return [];
  }
  return error
    .findDetails(BadRequestSchema)
    .flatMap((badRequest) =>
      badRequest.fieldViolations.map((violation) => ({ field: violation.field, description: violation.description })),
    );
}

// Codes of Node's socket, TLS and certificate errors: the connection failed.
const CONNECTION_FAILURE = /^(E[A-Z]+$|ERR_TLS_|ERR_SSL_|ERR_HTTP2_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_)/;

/** Whether `error` or one of its causes is a Node error whose code says the connection failed. */
function connectionFailed(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_FAILURE.test(code)) {
      return true;
    }
  }
  return false;
}

/**
 * `error` as an IdcError: unchanged if it is one, else the gRPC status of the
 * ConnectError it is (UNKNOWN for anything else). As in Go and Python, a
 * connection that fails (refused, TLS handshake or certificate rejected,
 * closed under the call) is UNAVAILABLE: Connect reports some of these as
 * INTERNAL, or as CANCELED when the server closes the stream, and idc's
 * server never cancels a call itself. Pass `cancelledByCaller` so that a
 * caller's own cancellation stays CANCELED.
 */
export function toIdcError(error: unknown, cancelledByCaller = false): IdcError {
  if (error instanceof IdcError) {
    return error;
  }
  const connectError = ConnectError.from(error);
  let code = connectError.code;
  if ((code === Code.Canceled && !cancelledByCaller) || ((code === Code.Internal || code === Code.Unknown) && connectionFailed(connectError))) {
    code = Code.Unavailable;
  }
  return new IdcError(code, connectError.rawMessage, fieldViolations(connectError), { cause: error });
}
