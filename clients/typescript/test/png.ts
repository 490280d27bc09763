// A PNG reader for the tests: header, resolution, and the inflated image
// data, whose length proves the rows of the declared size are all there.

import { inflateSync } from "node:zlib";

export interface DecodedPNG {
  readonly width: number;
  readonly height: number;
  /** Pixels per metre from the pHYs chunk, or undefined without one in metres. */
  readonly pixelsPerMetre: number | undefined;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Samples per pixel of each PNG colour type (greyscale, RGB, palette, grey + alpha, RGBA).
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Decodes `data` as a non-interlaced PNG, throwing unless its chunks and pixel data are complete. */
export function decodePNG(data: Uint8Array): DecodedPNG {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) {
    throw new Error("no PNG signature");
  }
  let width = 0;
  let height = 0;
  let bitsPerPixel = 0;
  let pixelsPerMetre: number | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  for (let p = 8; p < bytes.length && !ended; ) {
    const length = bytes.readUInt32BE(p);
    const type = bytes.toString("latin1", p + 4, p + 8);
    const body = bytes.subarray(p + 8, p + 8 + length);
    if (body.length !== length) {
      throw new Error(`chunk ${type} runs past the end`);
    }
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const channels = CHANNELS[body[9] as number];
      if (channels === undefined || body[12] !== 0) {
        throw new Error(`unsupported colour type ${body[9]} or interlacing ${body[12]}`);
      }
      bitsPerPixel = channels * (body[8] as number);
    } else if (type === "pHYs" && body[8] === 1) {
      pixelsPerMetre = body.readUInt32BE(0);
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      ended = true;
    }
    p += 12 + length;
  }
  if (width === 0 || !ended) {
    throw new Error("no IHDR or IEND chunk");
  }
  const pixels = inflateSync(Buffer.concat(idat));
  const rowBytes = 1 + Math.ceil((width * bitsPerPixel) / 8); // a filter byte, then the row
  if (pixels.length !== height * rowBytes) {
    throw new Error(`image data is ${pixels.length} bytes, want ${height} rows of ${rowBytes}`);
  }
  return { width, height, pixelsPerMetre };
}
