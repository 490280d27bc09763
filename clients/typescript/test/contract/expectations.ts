// The expectations shared by the Go, Python and TypeScript contract tests.

import { readFileSync } from "node:fs";

export interface KnownMACD {
  readonly name: string;
  readonly symbol: string;
  readonly date: string;
  readonly convention: "CONVENTION_TALIB" | "CONVENTION_TDX";
  readonly macd: number;
  readonly signal: number;
  readonly histogram: number;
}

export interface ChartCase {
  readonly name: string;
  readonly method: string;
  readonly request: unknown;
  readonly media_type: string;
  readonly width: number;
  readonly height: number;
  readonly dpi: number;
}

export interface BadRequest {
  readonly name: string;
  readonly method: string;
  readonly request: unknown;
  readonly code: string;
  readonly field: string | null;
}

export interface Expectations {
  readonly tolerance: number;
  readonly macd: readonly KnownMACD[];
  readonly default_convention: string;
  readonly talib_macd_warm_up_bars: number;
  readonly spy_2023: { start: string; end: string; bars: number; first_date: string; last_date: string };
  readonly symbols: {
    default: string;
    list: readonly { symbol: string; bar_count: number; first_date?: string; last_date?: string }[];
  };
  readonly charts: readonly ChartCase[];
  readonly bad_requests: readonly BadRequest[];
}

// dist/test/contract/ -> clients/contract/expectations.json
const FILE = new URL("../../../../contract/expectations.json", import.meta.url);

export const expectations: Expectations = JSON.parse(readFileSync(FILE, "utf8")) as Expectations;
