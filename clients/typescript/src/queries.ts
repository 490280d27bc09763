// Request builders, as Go's MACDQuery/IndicatorQuery/ChartQuery and the
// Python client's keyword arguments: plain objects in, idc.v1 messages out.

import { create } from "@bufbuild/protobuf";

import type { Adjustment, Bars, Interval } from "../gen/idc/v1/bars_pb.js";
import {
  type ChartOverlay,
  ChartOverlaySchema,
  type ChartPanel,
  ChartPanelSchema,
  type ColorScheme,
  type GetChartRequest,
  GetChartRequestSchema,
  type GetMACDGraphRequest,
  GetMACDGraphRequestSchema,
  type ImageFormat,
  type Theme,
} from "../gen/idc/v1/indicator_graph_service_pb.js";
import {
  type ComputeIndicatorsRequest,
  ComputeIndicatorsRequestSchema,
  type GetMACDRequest,
  GetMACDRequestSchema,
} from "../gen/idc/v1/indicator_service_pb.js";
import { type Convention, type IndicatorSpec, IndicatorSpecSchema, type StdDev } from "../gen/idc/v1/indicators_pb.js";
import { type DateLike, dateField } from "./dates.js";

/** Where the bars come from and which window: a symbol of the server's (default: its default symbol) or inline bars. */
export interface Selection {
  readonly symbol?: string;
  readonly bars?: Bars;
  readonly start?: DateLike;
  readonly end?: DateLike;
  /** CONVENTION_UNSPECIFIED (the server's default), CONVENTION_TALIB or CONVENTION_TDX. */
  readonly convention?: Convention;
  /** The bar length to serve, e.g. Interval.INTERVAL_5_MINUTES; unset means 1 day. Not for GetMACDGraph. */
  readonly interval?: Interval;
  /** The split and dividend adjustment, e.g. Adjustment.FORWARD (前复权); unset means as stored. Not for GetMACDGraph. */
  readonly adjustment?: Adjustment;
}

/** A GetMACD or GetMACDGraph selection with MACD periods; 0 or unset means 12/26/9. */
export interface MACDQuery extends Selection {
  readonly fast?: number;
  readonly slow?: number;
  readonly signal?: number;
}

export interface GraphQuery extends MACDQuery {
  /** Pixels; 0 or unset means 1200x800. */
  readonly width?: number;
  readonly height?: number;
  /** The largest chunk in bytes; 0 or unset means 64 KiB. */
  readonly chunkSize?: number;
}

export interface IndicatorQuery extends Selection {
  readonly indicators: readonly IndicatorSpec[];
}

export interface ChartQuery extends Selection {
  readonly panels?: readonly ChartPanel[];
  readonly overlays?: readonly ChartOverlay[];
  readonly format?: ImageFormat;
  readonly width?: number;
  readonly height?: number;
  readonly dpi?: number;
  readonly theme?: Theme;
  readonly scheme?: ColorScheme;
  readonly chunkSize?: number;
}

type Source = { case: "symbol"; value: string } | { case: "inlineBars"; value: Bars } | { case: undefined };

function source(selection: Selection): Source {
  if (selection.bars !== undefined && selection.symbol !== undefined) {
    throw new Error(`give either symbol or bars, not both (symbol ${JSON.stringify(selection.symbol)})`);
  }
  if (selection.bars !== undefined) {
    return { case: "inlineBars", value: selection.bars };
  }
  return selection.symbol !== undefined ? { case: "symbol", value: selection.symbol } : { case: undefined };
}

function window(selection: Selection) {
  return {
    startDate: dateField(selection.start),
    endDate: dateField(selection.end),
    convention: selection.convention ?? 0,
  };
}

function bars(selection: Selection) {
  return { interval: selection.interval ?? 0, adjustment: selection.adjustment ?? 0 };
}

function macdParameters(query: MACDQuery) {
  if (!query.fast && !query.slow && !query.signal) {
    return undefined;
  }
  return { fastPeriod: query.fast ?? 0, slowPeriod: query.slow ?? 0, signalPeriod: query.signal ?? 0 };
}

export function macdRequest(query: MACDQuery = {}): GetMACDRequest {
  return create(GetMACDRequestSchema, {
    source: source(query),
    ...window(query),
    ...bars(query),
    parameters: macdParameters(query),
  });
}

/** Throws for an interval or adjustment: GetMACDGraph draws the bars as stored (draw others with chartRequest). */
export function graphRequest(query: GraphQuery = {}): GetMACDGraphRequest {
  if (query.interval || query.adjustment) {
    throw new Error("GetMACDGraph takes no interval or adjustment; use getChart with a MACD panel");
  }
  return create(GetMACDGraphRequestSchema, {
    source: source(query),
    ...window(query),
    parameters: macdParameters(query),
    widthPx: query.width ?? 0,
    heightPx: query.height ?? 0,
    chunkSizeBytes: query.chunkSize ?? 0,
  });
}

export function indicatorsRequest(query: IndicatorQuery): ComputeIndicatorsRequest {
  return create(ComputeIndicatorsRequestSchema, {
    source: source(query),
    ...window(query),
    ...bars(query),
    indicators: [...query.indicators],
  });
}

export function chartRequest(query: ChartQuery = {}): GetChartRequest {
  return create(GetChartRequestSchema, {
    source: source(query),
    ...window(query),
    ...bars(query),
    panels: [...(query.panels ?? [])],
    overlays: [...(query.overlays ?? [])],
    format: query.format ?? 0,
    widthPx: query.width ?? 0,
    heightPx: query.height ?? 0,
    dpi: query.dpi ?? 0,
    theme: query.theme ?? 0,
    colorScheme: query.scheme ?? 0,
    chunkSizeBytes: query.chunkSize ?? 0,
  });
}

// Indicator specs. Zero parameters mean the server's defaults (SMA/EMA 20, RSI 14, MACD 12/26/9, Bollinger 20/2, KDJ 9/3/3).

export const sma = (period = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { label, parameters: { case: "sma", value: { period } } });
export const ema = (period = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { label, parameters: { case: "ema", value: { period } } });
export const rsi = (period = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { label, parameters: { case: "rsi", value: { period } } });
export const macd = (fast = 0, slow = 0, signal = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, {
    label,
    parameters: { case: "macd", value: { fastPeriod: fast, slowPeriod: slow, signalPeriod: signal } },
  });
export const boll = (period = 0, k = 0, stdDev: StdDev = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { label, parameters: { case: "boll", value: { period, k, stdDev } } });
export const kdj = (period = 0, kPeriod = 0, dPeriod = 0, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { label, parameters: { case: "kdj", value: { period, kPeriod, dPeriod } } });

// Chart panels and overlays.

export const volumePanel = (): ChartPanel => create(ChartPanelSchema, { kind: { case: "volume", value: {} } });
export const macdPanel = (fast = 0, slow = 0, signal = 0): ChartPanel =>
  create(ChartPanelSchema, { kind: { case: "macd", value: { fastPeriod: fast, slowPeriod: slow, signalPeriod: signal } } });
export const rsiPanel = (period = 0): ChartPanel => create(ChartPanelSchema, { kind: { case: "rsi", value: { period } } });
export const kdjPanel = (period = 0, kPeriod = 0, dPeriod = 0): ChartPanel =>
  create(ChartPanelSchema, { kind: { case: "kdj", value: { period, kPeriod, dPeriod } } });
export const smaOverlay = (period = 0): ChartOverlay =>
  create(ChartOverlaySchema, { kind: { case: "sma", value: { period } } });
export const emaOverlay = (period = 0): ChartOverlay =>
  create(ChartOverlaySchema, { kind: { case: "ema", value: { period } } });
export const bollOverlay = (period = 0, k = 0): ChartOverlay =>
  create(ChartOverlaySchema, { kind: { case: "boll", value: { period, k } } });
