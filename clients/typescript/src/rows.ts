// Rows and frames from the columnar responses of IndicatorService.

import { create } from "@bufbuild/protobuf";

import { type Bars, BarsSchema } from "../gen/idc/v1/bars_pb.js";
import type {
  ComputeIndicatorsResponse,
  GetMACDResponse,
  ListSymbolsResponse,
} from "../gen/idc/v1/indicator_service_pb.js";
import { dateFromEpochDay, epochDay, parseDate } from "./dates.js";

/** One daily bar. */
export interface Bar {
  /** The trading day at midnight UTC; only its calendar date is meaningful. */
  readonly date: Date;
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

/** The bars of a Bars message as rows, after checking that every column has one value per date. */
export function barRows(bars: Bars | undefined): Bar[] {
  const dates = bars?.dates ?? [];
  const columns = { open: bars?.open ?? [], high: bars?.high ?? [], low: bars?.low ?? [], close: bars?.close ?? [], volume: bars?.volume ?? [] };
  for (const [name, values] of Object.entries(columns)) {
    if (values.length !== dates.length) {
      throw new ColumnError(`column ${name} has ${values.length} values, want one per date (${dates.length})`);
    }
  }
  return dates.map((day, i) => ({
    date: dateFromEpochDay(day),
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
  return { dates: response.dates.map(dateFromEpochDay), names: [...columns.keys()], columns };
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

/** A Bars message of `rows`, for a request's inline bars. The server checks the values. */
export function barsFromRows(rows: readonly Bar[]): Bars {
  return create(BarsSchema, {
    dates: rows.map((row) => epochDay(row.date)),
    open: rows.map((row) => row.open),
    high: rows.map((row) => row.high),
    low: rows.map((row) => row.low),
    close: rows.map((row) => row.close),
    volume: rows.map((row) => row.volume),
  });
}
