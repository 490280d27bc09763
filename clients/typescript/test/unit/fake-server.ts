// A plaintext HTTP/2 server speaking just enough gRPC to test the client's
// deadline and token headers, its error decoding and its stream checks.

import { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream, createServer } from "node:http2";
import type { AddressInfo } from "node:net";

import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

/** What the server answers: messages (already encoded) then a status with optional field violations. */
export interface Answer {
  readonly messages?: readonly Uint8Array[];
  readonly code?: number;
  readonly message?: string;
  readonly violations?: readonly { field: string; description: string }[];
}

export interface FakeServer {
  readonly target: string;
  /** The request headers of every call, in order. */
  readonly calls: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A gRPC message frame: flag 0 (uncompressed), 4-byte big-endian length, the message. */
function frame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** The google.rpc.Status of a failed call, as the grpc-status-details-bin trailer carries it. */
function statusDetails(code: number, message: string, violations: Answer["violations"]): string {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.Varint).int32(code);
  writer.tag(2, WireType.LengthDelimited).string(message);
  const badRequest = create(BadRequestSchema, { fieldViolations: [...(violations ?? [])] });
  writer.tag(3, WireType.LengthDelimited).bytes(toBinary(AnySchema, anyPack(BadRequestSchema, badRequest)));
  return Buffer.from(writer.finish()).toString("base64");
}

function answer(stream: ServerHttp2Stream, reply: Answer): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => {
    const code = reply.code ?? 0;
    const trailers: Record<string, string> = { "grpc-status": String(code), "grpc-message": encodeURIComponent(reply.message ?? "") };
    if (reply.violations !== undefined) {
      trailers["grpc-status-details-bin"] = statusDetails(code, reply.message ?? "", reply.violations);
    }
    stream.sendTrailers(trailers);
  });
  stream.end(Buffer.concat((reply.messages ?? []).map(frame)));
}

/** Starts a server on 127.0.0.1 that gives every call `reply(path)`. */
export async function startFakeServer(reply: (path: string) => Answer): Promise<FakeServer> {
  const calls: IncomingHttpHeaders[] = [];
  const server = createServer();
  const sessions = new Set<Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    calls.push(headers);
    stream.on("data", () => {});
    stream.on("end", () => answer(stream, reply(String(headers[":path"]))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sessions.forEach((session) => session.destroy());
      }),
  };
}
