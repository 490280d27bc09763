// Contract tests of the TypeScript client against a real idc server on its
// bundled data, at the address in IDC_ADDR (nox -s contract sets it). The
// expected values are the ones the Go and Python contract tests read, from
// clients/contract/expectations.json.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { type DescMessage, type DescMethod, type DescService, type JsonValue, fromJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";

import { IndicatorGraphService } from "../../gen/idc/v1/indicator_graph_service_pb.js";
import { IndicatorService } from "../../gen/idc/v1/indicator_service_pb.js";
import { Adjustment, Interval } from "../../gen/idc/v1/bars_pb.js";
import { Convention, ConventionSchema } from "../../gen/idc/v1/indicators_pb.js";
import {
  Code,
  IdcClient,
  IdcError,
  barsFromRows,
  boll,
  ema,
  formatDate,
  indicatorFrame,
  kdj,
  macd,
  macdRows,
  parseDate,
  rsi,
  sma,
  symbolRows,
  toIdcError,
} from "../../src/index.js";
import { decodePNG } from "../png.js";
import { expectations } from "./expectations.js";

const ADDR = process.env["IDC_ADDR"] ?? "";
const TOLERANCE = expectations.tolerance;
const EXACT = 1e-9;

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} = ${actual}, want ${expected} ± ${tolerance}`);
}

/** The Convention named as in the proto, e.g. "CONVENTION_TDX". */
function convention(name: string): Convention {
  const value = ConventionSchema.values.find((v) => v.name === name);
  assert.ok(value !== undefined, `unknown convention ${name}`);
  return value.number as Convention;
}

/** The method of an idc.v1 service named "package.Service/Method". */
function method(name: string): DescMethod {
  const [service, rpc] = name.split("/");
  for (const desc of [IndicatorService, IndicatorGraphService] as DescService[]) {
    const found = desc.methods.find((m) => desc.typeName === service && m.name === rpc);
    if (found !== undefined) {
      return found;
    }
  }
  throw new Error(`no method ${name}`);
}

/** The request message of a fixture entry, parsed from its proto3 JSON. */
function message(methodName: string, json: unknown) {
  const input: DescMessage = method(methodName).input;
  return fromJson(input, json as JsonValue);
}

let client: IdcClient;

before(() => {
  assert.ok(ADDR !== "", "the contract tests need a running idc server: set IDC_ADDR=host:port");
  client = new IdcClient(ADDR, { timeoutMs: 60_000 });
});

after(() => client.close());

describe("GetMACD", () => {
  for (const known of expectations.macd) {
    it(`known values ${known.name}`, async () => {
      const day = parseDate(known.date);
      const response = await client.getMACD({
        symbol: known.symbol,
        start: day,
        end: day,
        convention: convention(known.convention),
      });
      const rows = macdRows(response);
      assert.equal(response.symbol, known.symbol);
      assert.equal(response.convention, convention(known.convention));
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.ok(row.date instanceof Date);
      assert.equal(formatDate(row.date), known.date);
      assert.ok(row.valid);
      close(row.macd, known.macd, TOLERANCE, "macd");
      close(row.signal, known.signal, TOLERANCE, "signal");
      close(row.histogram, known.histogram, TOLERANCE, "histogram");
      const factor = known.convention === "CONVENTION_TDX" ? 2 : 1; // 通达信's MACD bar is 2 * (DIF - DEA)
      close(row.histogram, factor * (row.macd - row.signal), EXACT, "histogram against macd - signal");
    });
  }

  it("an unspecified convention is the server's default, with its values", async () => {
    const known = expectations.macd.find((k) => k.convention === expectations.default_convention)!;
    const response = await client.getMACD({ symbol: known.symbol.toLowerCase(), start: known.date, end: known.date });
    assert.equal(response.symbol, known.symbol);
    assert.equal(response.convention, convention(expectations.default_convention));
    close(macdRows(response)[0]!.macd, known.macd, TOLERANCE, "macd");
  });

  it("SPY's 2023 window", async () => {
    const window = expectations.spy_2023;
    const rows = macdRows(await client.getMACD({ symbol: "SPY", start: window.start, end: window.end }));
    assert.equal(rows.length, window.bars);
    assert.equal(formatDate(rows[0]!.date), window.first_date);
    assert.equal(formatDate(rows.at(-1)!.date), window.last_date);
    rows.forEach((row, i) => {
      if (i > 0) assert.ok(row.date > rows[i - 1]!.date, `row ${i} is not after row ${i - 1}`);
      assert.ok(row.valid && row.low <= row.high && row.close > 0 && row.volume > 0, `row ${i}: ${JSON.stringify(row)}`);
      close(row.histogram, row.macd - row.signal, EXACT, `row ${i} histogram`);
    });
  });

  it("TA-Lib's warm-up over SPY's whole history", async () => {
    const warmUp = expectations.talib_macd_warm_up_bars;
    const spy = expectations.symbols.list.find((s) => s.symbol === "SPY")!;
    const response = await client.getMACD({ symbol: "SPY", convention: Convention.TALIB });
    const rows = macdRows(response);
    assert.equal(response.firstValidIndex, warmUp);
    assert.equal(rows.length, spy.bar_count);
    assert.equal(response.macd.length, spy.bar_count - warmUp);
    assert.ok(!rows[warmUp - 1]!.valid && Number.isNaN(rows[warmUp - 1]!.macd));
    assert.ok(rows[warmUp]!.valid && !Number.isNaN(rows[warmUp]!.macd));
  });
});

describe("ListSymbols", () => {
  it("lists the bundled symbols with their dates as Dates", async () => {
    const response = await client.listSymbols();
    const rows = symbolRows(response);
    assert.equal(response.defaultSymbol, expectations.symbols.default);
    assert.deepEqual(
      rows.map((row) => [row.symbol, row.barCount]),
      expectations.symbols.list.map((s) => [s.symbol, s.bar_count]),
    );
    for (const want of expectations.symbols.list) {
      const row = rows.find((r) => r.symbol === want.symbol)!;
      assert.ok(row.firstDate instanceof Date && row.firstDate <= row.lastDate);
      if (want.first_date !== undefined) assert.equal(formatDate(row.firstDate), want.first_date);
      if (want.last_date !== undefined) assert.equal(formatDate(row.lastDate), want.last_date);
    }
  });
});

describe("ComputeIndicators", () => {
  it("SPY 2023: the columns agree with GetMACD and with sums of the closes", async () => {
    const window = expectations.spy_2023;
    const specs = [sma(20, "sma20"), ema(), macd(), rsi(), boll(), kdj()];
    const frame = indicatorFrame(
      await client.computeIndicators({ symbol: "SPY", start: window.start, end: window.end, indicators: specs }),
    );
    const rows = macdRows(await client.getMACD({ symbol: "SPY", end: window.end }));
    const inWindow = rows.slice(-window.bars);
    assert.deepEqual(frame.names, [
      ...["sma20", "ema", "macd.macd", "macd.signal", "macd.histogram", "rsi"],
      ...["boll.upper", "boll.middle", "boll.lower", "kdj.k", "kdj.d", "kdj.j"],
    ]);
    assert.equal(frame.dates.length, window.bars);
    frame.dates.forEach((date, i) => {
      const row = inWindow[i]!;
      assert.equal(date.getTime(), row.date.getTime());
      close(frame.columns.get("macd.macd")![i]!, row.macd, EXACT, `macd.macd ${i}`);
      close(frame.columns.get("macd.signal")![i]!, row.signal, EXACT, `macd.signal ${i}`);
      // The mean of the last 20 closes, summed here.
      const end = rows.length - window.bars + i + 1;
      const mean = rows.slice(end - 20, end).reduce((sum, r) => sum + r.close, 0) / 20;
      close(frame.columns.get("sma20")![i]!, mean, EXACT, `sma20 ${i}`);
      const [k, d, j] = ["kdj.k", "kdj.d", "kdj.j"].map((name) => frame.columns.get(name)![i]!);
      close(j!, 3 * k! - 2 * d!, EXACT, `kdj.j ${i}`);
    });
  });

  it("warm-up bars are NaN in the frame", async () => {
    const frame = indicatorFrame(
      await client.computeIndicators({ symbol: "SPY", end: "1993-12-31", convention: Convention.TALIB, indicators: [sma(20)] }),
    );
    const column = frame.columns.get("sma")!;
    assert.ok(Number.isNaN(column[18]!) && !Number.isNaN(column[19]!));
  });
});

describe("charts", () => {
  for (const chart of expectations.charts) {
    it(`${chart.name} reassembles, verifies and decodes to its size`, async () => {
      const request = message(chart.method, chart.request);
      const image =
        chart.method.endsWith("/GetChart")
          ? await client.getChart(request as Parameters<IdcClient["getChart"]>[0])
          : await client.getMACDGraph(request as Parameters<IdcClient["getMACDGraph"]>[0]);
      assert.equal(image.mediaType, chart.media_type);
      assert.deepEqual([image.width, image.height, image.dpi], [chart.width, chart.height, chart.dpi]);
      assert.deepEqual(new Uint8Array(createHash("sha256").update(image.data).digest()), image.sha256);
      const png = decodePNG(image.data);
      assert.deepEqual([png.width, png.height], [chart.width, chart.height]);
      const perMetre = Math.round(chart.dpi / 0.0254);
      assert.ok(png.pixelsPerMetre !== undefined && Math.abs(png.pixelsPerMetre - perMetre) <= 1, `pHYs ${png.pixelsPerMetre}`);
    });
  }

  it("chunks respect chunk_size_bytes on the wire", async () => {
    const raw = createClient(IndicatorGraphService, client.transport);
    const sizes: number[] = [];
    let metadataFirst = false;
    for await (const response of raw.getChart(
      { source: { case: "symbol", value: "SPY" }, startDate: "2023-01-01", endDate: "2023-12-31", chunkSizeBytes: 1024 },
      { timeoutMs: 60_000 },
    )) {
      if (response.payload.case === "metadata") metadataFirst = sizes.length === 0;
      if (response.payload.case === "chunk") sizes.push(response.payload.value.length);
    }
    assert.ok(metadataFirst);
    assert.ok(sizes.length > 1);
    assert.ok(sizes.every((size) => size >= 1 && size <= 1024), `chunk sizes ${sizes}`);
  });

  it("a chart past its deadline fails with DEADLINE_EXCEEDED and the next call succeeds", async () => {
    // A large SVG of SPY's whole history; the dpi varies so that the render cache cannot hold it.
    const dpi = 60 + Math.floor(Math.random() * 500);
    await assert.rejects(
      client.getChart({ symbol: "SPY", format: 2, width: 8000, height: 2000, dpi }, { timeoutMs: 50 }),
      (error: unknown) => error instanceof IdcError && error.code === Code.DeadlineExceeded,
    );
    const image = await client.getMACDGraph({ symbol: "SPY", start: "2023-01-01", end: "2023-12-31", width: 400, height: 300 });
    assert.deepEqual(decodePNG(image.data).width, 400);
  });
});

describe("bad input", () => {
  for (const bad of expectations.bad_requests) {
    it(`${bad.name}: ${bad.code}${bad.field === null ? "" : ` naming ${bad.field}`}`, async () => {
      const desc = method(bad.method);
      const request = message(bad.method, bad.request);
      const service = bad.method.startsWith("idc.v1.IndicatorGraphService/") ? IndicatorGraphService : IndicatorService;
      const raw = createClient(service as DescService, client.transport) as unknown as Record<
        string,
        (request: unknown, options: { timeoutMs: number }) => Promise<unknown> | AsyncIterable<unknown>
      >;
      const call = async () => {
        const result = raw[desc.localName]!(request, { timeoutMs: 60_000 });
        if (Symbol.asyncIterator in (result as object)) {
          for await (const _ of result as AsyncIterable<unknown>);
        } else {
          await result;
        }
      };
      const error = await call().then(
        () => assert.fail("the call succeeded"),
        (caught: unknown) => toIdcError(caught),
      );
      assert.equal(error.codeName, bad.code, error.message);
      if (bad.field !== null) {
        assert.deepEqual(error.fields, [bad.field], error.message);
        assert.ok(error.rawMessage.includes(bad.field), error.rawMessage);
      }
    });
  }

  it("the typed client raises IdcError with the field, and keeps working", async () => {
    await assert.rejects(client.getMACD({ start: "2023-13-01" }), (error: unknown) => {
      assert.ok(error instanceof IdcError);
      assert.equal(error.code, Code.InvalidArgument);
      assert.deepEqual(error.fields, ["start_date"]);
      assert.ok(error.fieldViolations[0]!.description.length > 0);
      return true;
    });
    await assert.rejects(
      client.getChart({ symbol: "SPY", width: 100 }),
      (error: unknown) => error instanceof IdcError && error.codeName === "INVALID_ARGUMENT" && error.fields[0] === "width_px",
    );
    const known = expectations.macd[0]!;
    const rows = macdRows(await client.getMACD({ symbol: known.symbol, start: known.date, end: known.date }));
    close(rows[0]!.macd, known.macd, TOLERANCE, "macd after errors");
  });
});

describe("bars of every interval", () => {
  it("the Shanghai minutes start at 09:30 in Asia/Shanghai, and aggregate to 48 five-minute bars a day", async () => {
    const listed = await client.listSymbols();
    const minute = listed.symbols.find((s) => s.interval === Interval.INTERVAL_1_MINUTE && s.timeZone === "Asia/Shanghai");
    assert.ok(minute !== undefined, "no bundled symbol stored at 1 minute in Asia/Shanghai");
    const day = { symbol: minute.symbol, start: "2020-07-01", end: "2020-07-01" };
    const minutes = await client.getMACD({ ...day, interval: Interval.INTERVAL_1_MINUTE });
    const rows = macdRows(minutes);
    assert.equal(rows.length, 240);
    assert.equal(minutes.bars?.timeZone, "Asia/Shanghai");
    assert.equal(rows[0]?.time.toISOString(), "2020-07-01T01:30:00.000Z"); // 09:30 +08:00
    assert.equal(rows[0]?.open, 2991.18); // the file's first row, stamped 09:31, its end
    const fives = macdRows(await client.getMACD({ ...day, interval: Interval.INTERVAL_5_MINUTES }));
    assert.equal(fives.length, 48);
    for (const [i, bar] of fives.entries()) {
      const group = rows.slice(i * 5, i * 5 + 5); // both sessions open on a multiple of 5 minutes
      assert.equal(bar.time.getTime(), group[0]?.time.getTime());
      assert.equal(bar.open, group[0]?.open);
      assert.equal(bar.close, group[4]?.close);
      assert.equal(bar.high, Math.max(...group.map((r) => r.high)));
      assert.equal(bar.low, Math.min(...group.map((r) => r.low)));
    }
  });

  it("forward adjustment of inline bars with a 2-for-1 split halves the prices before it", async () => {
    const bars = barsFromRows(
      [100, 102, 51, 52].map((close, i) => ({ date: parseDate(`2024-01-0${i + 2}`), open: close, high: close + 1, low: close - 1, close, volume: 1000 })),
    );
    bars.adjustmentFactors = [1, 1, 2, 2];
    const response = await client.getMACD({ bars, adjustment: Adjustment.FORWARD, fast: 2, slow: 3, signal: 2 });
    assert.equal(response.adjustment, Adjustment.FORWARD);
    assert.deepEqual(macdRows(response).map((r) => r.close), [50, 51, 51, 52]);
  });
});
