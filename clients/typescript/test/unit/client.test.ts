// The client against a fake gRPC server: deadlines, tokens, error details
// from the grpc-status-details-bin trailer, and chart stream checks.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { create, toBinary } from "@bufbuild/protobuf";

import {
  GetChartResponseSchema,
  GetMACDResponseSchema,
  ImageMetadataSchema,
} from "../../src/index.js";
import { Code, DEFAULT_TIMEOUT_MS, IdcClient, IdcError, IntegrityError, ProtocolError } from "../../src/index.js";
import { type Answer, type FakeServer, startFakeServer } from "./fake-server.js";

const IMAGE = Buffer.from("not really a PNG, but bytes with a digest");
const DIGEST = createHash("sha256").update(IMAGE).digest();

function metadata(size: number, sha256: Uint8Array): Uint8Array {
  const value = create(ImageMetadataSchema, { mediaType: "image/png", sizeBytes: BigInt(size), sha256, widthPx: 4, heightPx: 3, dpi: 100 });
  return toBinary(GetChartResponseSchema, create(GetChartResponseSchema, { payload: { case: "metadata", value } }));
}

function chunk(bytes: Uint8Array): Uint8Array {
  return toBinary(GetChartResponseSchema, create(GetChartResponseSchema, { payload: { case: "chunk", value: bytes } }));
}

// Each test names the answer it wants in the request's symbol... the fake server only sees paths,
// so the answer for charts is switched through this variable.
let chartAnswer: Answer = {};
let server: FakeServer;

before(async () => {
  server = await startFakeServer((path) => {
    if (path.endsWith("/GetMACD")) {
      return { messages: [toBinary(GetMACDResponseSchema, create(GetMACDResponseSchema, { symbol: "OK" }))] };
    }
    if (path.endsWith("/ListSymbols")) {
      return {
        code: Code.InvalidArgument,
        message: "start_date: '2023-13-01' is not a calendar date",
        violations: [{ field: "start_date", description: "not a calendar date" }],
      };
    }
    return chartAnswer;
  });
});

after(() => server.close());

function lastHeaders() {
  const headers = server.calls.at(-1);
  assert.ok(headers !== undefined, "the server saw no call");
  return headers;
}

describe("deadlines", () => {
  it("every call has the default deadline of 30 s", async () => {
    const client = new IdcClient(server.target);
    try {
      assert.equal((await client.getMACD()).symbol, "OK");
      assert.equal(lastHeaders()["grpc-timeout"], `${DEFAULT_TIMEOUT_MS}m`);
    } finally {
      client.close();
    }
  });

  it("the client's timeoutMs and a call's own replace it; 0 turns it off", async () => {
    const client = new IdcClient(server.target, { timeoutMs: 5000 });
    try {
      await client.getMACD();
      assert.equal(lastHeaders()["grpc-timeout"], "5000m");
      await client.getMACD({}, { timeoutMs: 1500 });
      assert.equal(lastHeaders()["grpc-timeout"], "1500m");
      await client.getMACD({}, { timeoutMs: 0 });
      assert.equal(lastHeaders()["grpc-timeout"], undefined);
    } finally {
      client.close();
    }
  });
});

describe("tokens", () => {
  it("a token allowed over plaintext travels as a bearer token", async () => {
    const client = new IdcClient(server.target, { token: "s3cret", allowInsecureToken: true });
    try {
      await client.getMACD();
      assert.equal(lastHeaders()["authorization"], "Bearer s3cret");
    } finally {
      client.close();
    }
  });

  it("without a token no authorization header is sent", async () => {
    const client = new IdcClient(server.target);
    try {
      await client.getMACD();
      assert.equal(lastHeaders()["authorization"], undefined);
    } finally {
      client.close();
    }
  });

  it("a token over plaintext, an empty token or one with a space is refused without repeating it", () => {
    for (const [options, pattern] of [
      [{ token: "s3cret" }, /transport security/],
      [{ token: "", allowInsecureToken: true }, /empty/],
      [{ token: "s3cret value", allowInsecureToken: true }, /space, control or non-ASCII character at index 6/],
      [{ token: "s3cret\u00e9", tls: {} }, /non-ASCII/],
    ] as const) {
      assert.throws(
        () => new IdcClient(server.target, options),
        (error: unknown) => error instanceof Error && pattern.test(error.message) && !error.message.includes("s3cret"),
      );
    }
  });

  it("a client certificate without its key is refused", () => {
    assert.throws(() => new IdcClient(server.target, { tls: { cert: "PEM" } }), /both cert and key/);
  });
});

describe("errors", () => {
  it("carry the gRPC code and the BadRequest field violations of the trailer", async () => {
    const client = new IdcClient(server.target);
    try {
      await assert.rejects(client.listSymbols(), (error: unknown) => {
        assert.ok(error instanceof IdcError);
        assert.equal(error.code, Code.InvalidArgument);
        assert.equal(error.codeName, "INVALID_ARGUMENT");
        assert.deepEqual(error.fieldViolations, [{ field: "start_date", description: "not a calendar date" }]);
        assert.equal(error.rawMessage, "start_date: '2023-13-01' is not a calendar date");
        return true;
      });
    } finally {
      client.close();
    }
  });

  it("a call cancelled by its caller stays CANCELED", async () => {
    const client = new IdcClient(server.target);
    try {
      await assert.rejects(
        client.getMACD({}, { signal: AbortSignal.abort() }),
        (error: unknown) => error instanceof IdcError && error.code === Code.Canceled,
      );
    } finally {
      client.close();
    }
  });

  it("a refused connection is UNAVAILABLE", async () => {
    const closed = await startFakeServer(() => ({}));
    await closed.close();
    const client = new IdcClient(closed.target);
    try {
      await assert.rejects(client.getMACD(), (error: unknown) => error instanceof IdcError && error.code === Code.Unavailable);
    } finally {
      client.close();
    }
  });
});

describe("chart streams", () => {
  async function chart(answer: Answer) {
    chartAnswer = answer;
    const client = new IdcClient(server.target);
    try {
      return await client.getChart();
    } finally {
      client.close();
    }
  }

  it("reassemble chunks that match the metadata", async () => {
    const image = await chart({ messages: [metadata(IMAGE.length, DIGEST), chunk(IMAGE.subarray(0, 10)), chunk(IMAGE.subarray(10))] });
    assert.deepEqual(Buffer.from(image.data), IMAGE);
    assert.deepEqual([image.mediaType, image.width, image.height, image.dpi], ["image/png", 4, 3, 100]);
    assert.deepEqual(Buffer.from(image.sha256), DIGEST);
  });

  it("reject a wrong digest as DATA_LOSS", async () => {
    const wrong = createHash("sha256").update("other").digest();
    await assert.rejects(chart({ messages: [metadata(IMAGE.length, wrong), chunk(IMAGE)] }), (error: unknown) =>
      error instanceof IntegrityError && error.code === Code.DataLoss && /SHA-256/.test(error.message),
    );
  });

  it("reject too few or too many bytes as DATA_LOSS", async () => {
    for (const size of [IMAGE.length + 1, IMAGE.length - 1]) {
      await assert.rejects(chart({ messages: [metadata(size, DIGEST), chunk(IMAGE)] }), IntegrityError);
    }
  });

  it("reject a chunk before the metadata, metadata twice, or no metadata as INTERNAL", async () => {
    for (const messages of [
      [chunk(IMAGE), metadata(IMAGE.length, DIGEST)],
      [metadata(IMAGE.length, DIGEST), metadata(IMAGE.length, DIGEST), chunk(IMAGE)],
      [],
    ]) {
      await assert.rejects(chart({ messages }), (error: unknown) => error instanceof ProtocolError && error.code === Code.Internal);
    }
  });
});
