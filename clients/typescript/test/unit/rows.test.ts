// Rows, frames and dates from columnar responses, on hand-made responses.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { create } from "@bufbuild/protobuf";

import {
  Adjustment,
  BarsSchema,
  ColumnError,
  GetMACDRequestSchema,
  Interval,
  chartRequest,
  graphRequest,
  indicatorsRequest,
  macdRequest,
  ComputeIndicatorsResponseSchema,
  GetMACDResponseSchema,
  ListSymbolsResponseSchema,
  barsFromRows,
  codeFromName,
  codeName,
  Code,
  dateFromEpochDay,
  epochDay,
  indicatorFrame,
  macdRows,
  parseDate,
  symbolRows,
} from "../../src/index.js";

const bars = { dates: [19718, 19719, 19720], open: [1, 2, 3], high: [2, 3, 4], low: [0.5, 1.5, 2.5], close: [1.5, 2.5, 3.5], volume: [10, 20, 30] };

describe("dates", () => {
  it("day 19720 is 2023-12-29 at midnight UTC, and back", () => {
    assert.equal(dateFromEpochDay(19720).toISOString(), "2023-12-29T00:00:00.000Z");
    assert.equal(epochDay(new Date("2023-12-29T23:59:59Z")), 19720);
    assert.equal(epochDay(dateFromEpochDay(-1)), -1);
  });

  it("parseDate takes calendar dates only", () => {
    assert.equal(parseDate("2024-02-29").getTime(), Date.UTC(2024, 1, 29));
    for (const bad of ["2023-02-29", "2023-13-01", "2023-1-01", "20231201", ""]) {
      assert.throws(() => parseDate(bad), RangeError, bad);
    }
  });
});

describe("macdRows", () => {
  it("pads the warm-up with NaN and marks it not valid", () => {
    const response = create(GetMACDResponseSchema, { bars, firstValidIndex: 1, macd: [0.5, 0.7], signal: [0.25, 0.5], histogram: [0.25, 0.2] });
    const rows = macdRows(response);
    assert.equal(rows.length, 3);
    assert.equal(rows[0]!.valid, false);
    assert.ok(Number.isNaN(rows[0]!.macd) && Number.isNaN(rows[0]!.signal) && Number.isNaN(rows[0]!.histogram));
    assert.deepEqual(rows[2], {
      date: new Date(Date.UTC(2023, 11, 29)),
      time: new Date(Date.UTC(2023, 11, 29)), // no times from the server: the date's midnight UTC
      open: 3, high: 4, low: 2.5, close: 3.5, volume: 30,
      valid: true, macd: 0.7, signal: 0.5, histogram: 0.2,
    });
  });

  it("refuses columns of the wrong length and a first_valid_index out of range", () => {
    assert.throws(() => macdRows(create(GetMACDResponseSchema, { bars: { ...bars, volume: [1] }, macd: [1, 2, 3], signal: [1, 2, 3], histogram: [1, 2, 3] })), ColumnError);
    assert.throws(() => macdRows(create(GetMACDResponseSchema, { bars, firstValidIndex: 0, macd: [1, 2], signal: [1, 2, 3], histogram: [1, 2, 3] })), /macd has 2 values, want 3/);
    assert.throws(() => macdRows(create(GetMACDResponseSchema, { bars, firstValidIndex: 4 })), /outside 0 to 3/);
  });

  it("an empty response has no rows", () => {
    assert.deepEqual(macdRows(create(GetMACDResponseSchema)), []);
  });
});

describe("indicatorFrame and symbolRows", () => {
  it("columns are full length, NaN before each series' first value", () => {
    const frame = indicatorFrame(create(ComputeIndicatorsResponseSchema, {
      dates: [19718, 19719, 19720],
      series: [{ name: "sma2", firstValidIndex: 1, values: [1.5, 2.5] }, { name: "ema", firstValidIndex: 0, values: [1, 2, 3] }],
    }));
    assert.deepEqual(frame.names, ["sma2", "ema"]);
    assert.deepEqual([...frame.columns.get("sma2")!], [Number.NaN, 1.5, 2.5]);
    assert.equal(frame.dates[2]!.toISOString().slice(0, 10), "2023-12-29");
    assert.throws(() => indicatorFrame(create(ComputeIndicatorsResponseSchema, { dates: [1], series: [{ name: "x", values: [] }] })), ColumnError);
  });

  it("symbol dates become Dates", () => {
    const rows = symbolRows(create(ListSymbolsResponseSchema, { symbols: [{ symbol: "SPY", firstDate: "1993-01-29", lastDate: "2026-03-27", barCount: 8347 }] }));
    assert.deepEqual(rows, [{ symbol: "SPY", firstDate: new Date(Date.UTC(1993, 0, 29)), lastDate: new Date(Date.UTC(2026, 2, 27)), barCount: 8347 }]);
  });

  it("barsFromRows inverts macdRows' bars", () => {
    const rows = macdRows(create(GetMACDResponseSchema, { bars, firstValidIndex: 3 }));
    const again = barsFromRows(rows);
    assert.deepEqual([again.dates, again.open, again.high, again.low, again.close, again.volume], [bars.dates, bars.open, bars.high, bars.low, bars.close, bars.volume]);
  });
});

describe("status code names", () => {
  it("are gRPC's", () => {
    assert.equal(codeName(Code.InvalidArgument), "INVALID_ARGUMENT");
    assert.equal(codeName(Code.DeadlineExceeded), "DEADLINE_EXCEEDED");
    assert.equal(codeName(Code.Unauthenticated), "UNAUTHENTICATED");
    assert.equal(codeFromName("RESOURCE_EXHAUSTED"), Code.ResourceExhausted);
    assert.throws(() => codeFromName("NOPE"), RangeError);
  });
});

// Wire times computed with Python's zoneinfo: 2020-07-01 09:30 in Shanghai is 1593567000, 09:35 is 1593567300.
describe("times, intervals and adjustments", () => {
  it("rows carry each bar's start, which reads as 09:30 in the exchange's zone", () => {
    const response = create(GetMACDResponseSchema, {
      bars: { ...bars, dates: [18444, 18444], times: [1593567000n, 1593567300n], timeZone: "Asia/Shanghai" },
      macd: [0, 0],
      signal: [0, 0],
      histogram: [0, 0],
    });
    for (const column of ["open", "high", "low", "close", "volume"] as const) {
      response.bars![column] = response.bars![column].slice(0, 2);
    }
    const rows = macdRows(response);
    assert.equal(rows[0]?.time.toISOString(), "2020-07-01T01:30:00.000Z");
    assert.equal(rows[1]?.time.toISOString(), "2020-07-01T01:35:00.000Z");
    const local = rows[0]?.time.toLocaleString("en-GB", { timeZone: response.bars!.timeZone, hour: "2-digit", minute: "2-digit" });
    assert.equal(local, "09:30");
    assert.equal(rows[0]?.date.toISOString(), "2020-07-01T00:00:00.000Z");
  });

  it("without times a row's time is its date's midnight UTC; times of another length are refused", () => {
    const response = create(GetMACDResponseSchema, { bars, macd: [1, 2, 3], signal: [1, 2, 3], histogram: [0, 0, 0] });
    assert.equal(macdRows(response)[2]?.time.toISOString(), "2023-12-29T00:00:00.000Z");
    response.bars!.times = [1n];
    assert.throws(() => macdRows(response), ColumnError);
  });

  it("frames carry the times and the zone", () => {
    const frame = indicatorFrame(
      create(ComputeIndicatorsResponseSchema, { dates: [18205], times: [1572964200n], timeZone: "America/New_York" }),
    );
    assert.equal(frame.times[0]?.toISOString(), "2019-11-05T14:30:00.000Z"); // 09:30 EST
    assert.equal(frame.timeZone, "America/New_York");
    assert.equal(indicatorFrame(create(ComputeIndicatorsResponseSchema, {})).timeZone, "UTC");
  });

  it("requests carry the interval and the adjustment; GetMACDGraph refuses them", () => {
    const query = { symbol: "X", interval: Interval.INTERVAL_5_MINUTES, adjustment: Adjustment.FORWARD };
    for (const request of [macdRequest(query), indicatorsRequest({ ...query, indicators: [] }), chartRequest(query)]) {
      assert.equal(request.interval, Interval.INTERVAL_5_MINUTES);
      assert.equal(request.adjustment, Adjustment.FORWARD);
    }
    assert.equal(macdRequest({ symbol: "X" }).interval, Interval.INTERVAL_UNSPECIFIED);
    assert.throws(() => graphRequest(query), /no interval or adjustment/);
    assert.ok(create(GetMACDRequestSchema, {}).adjustment === Adjustment.UNSPECIFIED);
  });

  it("barsFromRows sends times with an interval", () => {
    const rows = [
      { date: new Date(0), time: new Date("2020-07-01T09:30:00+08:00"), open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
    ];
    const timed = barsFromRows(rows, Interval.INTERVAL_1_MINUTE, "Asia/Shanghai");
    assert.deepEqual(timed.times, [1593567000n]);
    assert.deepEqual(timed.dates, []);
    assert.equal(timed.timeZone, "Asia/Shanghai");
    assert.equal(timed.interval, Interval.INTERVAL_1_MINUTE);
    assert.throws(() => barsFromRows([{ ...rows[0]!, time: undefined }], Interval.INTERVAL_1_MINUTE), RangeError);
    assert.deepEqual(barsFromRows(rows).times, []);
    assert.ok(create(BarsSchema, {}).times.length === 0);
  });
});
