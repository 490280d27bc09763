// Rows and frames from the columnar responses of IndicatorService.

import { create } from "@bufbuild/protobuf";

import { type Bars, BarsSchema, type Interval } from "../gen/idc/v1/bars_pb.js";
import type {
  ComputeIndicatorsResponse,
  GetMACDResponse,
  ListSymbolsResponse,
} from "../gen/idc/v1/indicator_service_pb.js";
import { dateFromEpochDay, epochDay, parseDate } from "./dates.js";

/** One bar. */
export interface Bar {
  /** The trading day at midnight UTC; only its calendar date is meaningful (for weeks and months, the last one). */
  readonly date: Date;
  /**
   * The bar's start, an instant: 2020-07-01T01:30:00Z for the first minute bar of a Shanghai session (09:30 there).
   * Read it in the response's `bars.timeZone` (e.g. with `toLocaleString("en", { timeZone })`). From a server without
   * times, the date's midnight UTC. `barsFromRows` sends it when `interval` is given.
   */
  readonly time?: Date;
  /** Prices in the instrument's quote currency (or index points). */
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** Traded volume in the data source's unit. */
  readonly volume: number;
}

/** One bar of a GetMACD response with its MACD values. */
export interface MACDRow extends Bar {
  readonly time: Date;
  /** False for the warm-up bars before first_valid_index, whose MACD values are NaN. */
  readonly valid: boolean;
  /** The MACD line, EMA(fast) - EMA(slow) of the close (TA-Lib's macd, 通达信's DIF); NaN when not valid. */
  readonly macd: number;
  /** The signal line, the EMA of the MACD line (TA-Lib's macdsignal, 通达信's DEA); NaN when not valid. */
  readonly signal: number;
  /** macd - signal under CONVENTION_TALIB, 2 * (macd - signal) under CONVENTION_TDX; NaN when not valid. */
  readonly histogram: number;
}

/** A ComputeIndicators response as dates and one column per series, NaN before each series' first valid bar. */
export interface IndicatorFrame {
  readonly dates: readonly Date[];
  /** Each bar's start (see Bar.time); read them in `timeZone`. */
  readonly times: readonly Date[];
  /** The exchange's IANA time zone, e.g. "America/New_York"; "UTC" from a server without zones. */
  readonly timeZone: string;
  /** The series names in the response's order, e.g. "sma20", "macd.signal". */
  readonly names: readonly string[];
  readonly columns: ReadonlyMap<string, Float64Array>;
}

/** One symbol of a ListSymbols response. */
export interface SymbolRow {
  readonly symbol: string;
  readonly firstDate: Date;
  readonly lastDate: Date;
  readonly barCount: number;
}

/** A bad response: columns of the wrong length or a first_valid_index out of range. */
export class ColumnError extends Error {
  override readonly name: string = "ColumnError";
}

/** A column of `length` values: NaN before `first`, then `values`, which must fill the rest exactly. */
function padded(name: string, values: readonly number[], first: number, length: number): Float64Array {
  if (!Number.isInteger(first) || first < 0 || first > length) {
    throw new ColumnError(`${name}: first_valid_index ${first} is outside 0 to ${length}`);
  }
  if (values.length !== length - first) {
    throw new ColumnError(`${name} has ${values.length} values, want ${length - first} (from bar ${first} of ${length})`);
  }
  const column = new Float64Array(length).fill(Number.NaN);
  column.set(values, first);
  return column;
}

/** The bars' start times: `times` (seconds since the epoch), or each date's midnight UTC without them. */
function startTimes(times: readonly bigint[], dates: readonly number[]): Date[] {
  if (times.length === 0) {
    return dates.map(dateFromEpochDay);
  }
  if (times.length !== dates.length) {
    throw new ColumnError(`times has ${times.length} values, want one per date (${dates.length})`);
  }
  return times.map((seconds) => new Date(Number(seconds) * 1000));
}

/** The bars of a Bars message as rows with their times, after checking that every column has one value per date. */
export function barRows(bars: Bars | undefined): (Bar & { readonly time: Date })[] {
  const dates = bars?.dates ?? [];
  const times = startTimes(bars?.times ?? [], dates);
  const columns = { open: bars?.open ?? [], high: bars?.high ?? [], low: bars?.low ?? [], close: bars?.close ?? [], volume: bars?.volume ?? [] };
  for (const [name, values] of Object.entries(columns)) {
    if (values.length !== dates.length) {
      throw new ColumnError(`column ${name} has ${values.length} values, want one per date (${dates.length})`);
    }
  }
  return dates.map((day, i) => ({
    date: dateFromEpochDay(day),
    time: times[i] as Date,
    open: columns.open[i] as number,
    high: columns.high[i] as number,
    low: columns.low[i] as number,
    close: columns.close[i] as number,
    volume: columns.volume[i] as number,
  }));
}

/** One row per bar of a GetMACD response, in its (ascending date) order; warm-up rows have valid false. */
export function macdRows(response: GetMACDResponse): MACDRow[] {
  const bars = barRows(response.bars);
  const first = response.firstValidIndex;
  const macd = padded("macd", response.macd, first, bars.length);
  const signal = padded("signal", response.signal, first, bars.length);
  const histogram = padded("histogram", response.histogram, first, bars.length);
  return bars.map((bar, i) => ({
    ...bar,
    valid: i >= first,
    macd: macd[i] as number,
    signal: signal[i] as number,
    histogram: histogram[i] as number,
  }));
}

/** The series of a ComputeIndicators response as full-length columns keyed by name. */
export function indicatorFrame(response: ComputeIndicatorsResponse): IndicatorFrame {
  const length = response.dates.length;
  const columns = new Map<string, Float64Array>();
  for (const series of response.series) {
    if (columns.has(series.name)) {
      throw new ColumnError(`series ${series.name} appears twice`);
    }
    columns.set(series.name, padded(series.name, series.values, series.firstValidIndex, length));
  }
  return {
    dates: response.dates.map(dateFromEpochDay),
    times: startTimes(response.times, response.dates),
    timeZone: response.timeZone || "UTC",
    names: [...columns.keys()],
    columns,
  };
}

/** The symbols of a ListSymbols response with their dates as `Date`s. */
export function symbolRows(response: ListSymbolsResponse): SymbolRow[] {
  return response.symbols.map((info) => ({
    symbol: info.symbol,
    firstDate: parseDate(info.firstDate),
    lastDate: parseDate(info.lastDate),
    barCount: info.barCount,
  }));
}

/**
 * A Bars message of `rows`, for a request's inline bars. The server checks the values. Without `interval` they are
 * daily bars by date; with one (e.g. Interval.INTERVAL_1_MINUTE) they go by their `time` in `timeZone` (the exchange's
 * IANA zone, default "UTC"), and every row needs a time.
 */
export function barsFromRows(rows: readonly Bar[], interval?: Interval, timeZone = "UTC"): Bars {
  if (interval) {
    return create(BarsSchema, {
      times: rows.map((row, i) => {
        if (row.time === undefined) {
          throw new RangeError(`row ${i} has no time, which bars of an interval need`);
        }
        return BigInt(Math.floor(row.time.getTime() / 1000));
      }),
      open: rows.map((row) => row.open),
      high: rows.map((row) => row.high),
      low: rows.map((row) => row.low),
      close: rows.map((row) => row.close),
      volume: rows.map((row) => row.volume),
      interval,
      timeZone,
    });
  }
  return create(BarsSchema, {
    dates: rows.map((row) => epochDay(row.date)),
    open: rows.map((row) => row.open),
    high: rows.map((row) => row.high),
    low: rows.map((row) => row.low),
    close: rows.map((row) => row.close),
    volume: rows.map((row) => row.volume),
  });
}
