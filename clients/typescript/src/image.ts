// Reassembly of a streamed chart (GetChart, GetMACDGraph): metadata first,
// then chunks whose total length and SHA-256 must match it.

import { createHash } from "node:crypto";

import type { ImageMetadata } from "../gen/idc/v1/indicator_graph_service_pb.js";
import { IntegrityError, ProtocolError } from "./errors.js";

/** A chart whose length and SHA-256 matched the metadata sent before it. */
export interface Image {
  /** The IANA media type: "image/png", "image/svg+xml", "image/jpeg" or "image/webp". */
  readonly mediaType: string;
  /** Width and height in pixels, and resolution in dots per inch, as the server announced them. */
  readonly width: number;
  readonly height: number;
  readonly dpi: number;
  /** The image bytes. */
  readonly data: Uint8Array;
  /** The verified 32-byte SHA-256 digest. */
  readonly sha256: Uint8Array;
}

/** A message of a chart stream: the `payload` oneof of GetChartResponse and GetMACDGraphResponse. */
export interface ImageMessage {
  readonly payload:
    | { readonly case: "metadata"; readonly value: ImageMetadata }
    | { readonly case: "chunk"; readonly value: Uint8Array }
    | { readonly case: undefined; readonly value?: undefined };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/**
 * Reassembles the image of a chart stream. Throws a ProtocolError when the
 * stream does not start with the metadata, repeats it or has none, and an
 * IntegrityError as soon as the bytes exceed the announced size, or at the
 * end when their size or SHA-256 differs from the metadata.
 */
export async function assembleImage(stream: AsyncIterable<ImageMessage>): Promise<Image> {
  let metadata: ImageMetadata | undefined;
  const chunks: Uint8Array[] = [];
  const hash = createHash("sha256");
  let received = 0;
  for await (const message of stream) {
    const payload = message.payload;
    if (payload.case === "metadata") {
      if (metadata !== undefined || chunks.length > 0) {
        throw new ProtocolError("chart stream: metadata after the first message");
      }
      if (payload.value.sizeBytes < 0n || payload.value.sha256.length !== 32) {
        throw new ProtocolError("chart stream: malformed metadata (negative size or a digest that is not 32 bytes)");
      }
      metadata = payload.value;
    } else if (payload.case === "chunk") {
      if (metadata === undefined) {
        throw new ProtocolError("chart stream: a chunk before the metadata");
      }
      received += payload.value.length;
      if (BigInt(received) > metadata.sizeBytes) {
        throw new IntegrityError(`chart stream: ${received} bytes received, more than the announced ${metadata.sizeBytes}`);
      }
      hash.update(payload.value);
      chunks.push(payload.value);
    } else {
      throw new ProtocolError("chart stream: a message with neither metadata nor a chunk");
    }
  }
  if (metadata === undefined) {
    throw new ProtocolError("chart stream: ended without metadata");
  }
  if (BigInt(received) !== metadata.sizeBytes) {
    throw new IntegrityError(`chart stream: ${received} bytes received, the metadata announced ${metadata.sizeBytes}`);
  }
  const digest = new Uint8Array(hash.digest());
  if (hex(digest) !== hex(metadata.sha256)) {
    throw new IntegrityError(`chart stream: SHA-256 ${hex(digest)} differs from the announced ${hex(metadata.sha256)}`);
  }
  return {
    mediaType: metadata.mediaType,
    width: metadata.widthPx,
    height: metadata.heightPx,
    dpi: metadata.dpi,
    data: Buffer.concat(chunks),
    sha256: digest,
  };
}
