// The open catalogue, as the Go and Python clients have it: specs by name or
// formula with plain parameter values, and ListIndicators entries with
// their parameters' defaults as plain values.

import { create } from "@bufbuild/protobuf";

import type { IndicatorEntry, IndicatorParameter, ParameterType } from "../gen/idc/v1/catalogue_pb.js";
import type { ListIndicatorsResponse } from "../gen/idc/v1/indicator_service_pb.js";
import {
  type Convention,
  type IndicatorSpec,
  IndicatorSpecSchema,
  type OutputKind,
  type ParameterValue,
  ParameterValueSchema,
} from "../gen/idc/v1/indicators_pb.js";

/** A parameter value: a number (INT and FLOAT parameters), an enum choice such as "EMA", or a flag. */
export type Param = number | string | boolean;

/** Parameters by their case-sensitive names, as listIndicators lists them ("timeperiod", "N"). */
export type Params = Readonly<Record<string, Param>>;

/** The ParameterValue of a plain value: a number, a choice or a flag. */
export function paramValue(value: Param): ParameterValue {
  switch (typeof value) {
    case "number":
      return create(ParameterValueSchema, { kind: { case: "number", value } });
    case "string":
      return create(ParameterValueSchema, { kind: { case: "choice", value } });
    case "boolean":
      return create(ParameterValueSchema, { kind: { case: "flag", value } });
  }
  throw new TypeError(`unsupported parameter value ${String(value)}: want a number, a string or a boolean`);
}

function paramValues(params: Params): { [name: string]: ParameterValue } {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, paramValue(value)]));
}

/**
 * The spec of catalogue entry `name` ("talib.ADX", "tdx.KDJ", a plugin's
 * "example.ZSCORE", or a bare "ADX" that one namespace has) with its
 * parameters: `fn("talib.ADX", { timeperiod: 14 })`. Its series are named
 * "<label>" or "<label>.<output>", the label defaulting to the local name in
 * lower case ("adx").
 */
export const fn = (name: string, params: Params = {}, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { name, label, params: paramValues(params) });

/** The spec of 通达信 formula text, with values for the parameters its header declares; label "formula" by default. */
export const formula = (text: string, params: Params = {}, label = ""): IndicatorSpec =>
  create(IndicatorSpecSchema, { formula: text, label, params: paramValues(params) });

/** The plain value of a ParameterValue; undefined when unset. */
export function plainValue(value: ParameterValue | undefined): Param | undefined {
  return value?.kind.value;
}

/** One parameter of an entry, its default as a plain value. */
export interface Parameter {
  readonly name: string;
  readonly type: ParameterType;
  readonly default: Param | undefined;
  /** Bounds of INT and FLOAT parameters; undefined means none. */
  readonly minimum: number | undefined;
  readonly maximum: number | undefined;
  readonly minimumExclusive: boolean;
  readonly choices: readonly string[];
  readonly doc: string;
}

/** One entry of the server's catalogue. */
export interface Entry {
  /** "namespace.LOCAL", e.g. "talib.ADX". */
  readonly name: string;
  readonly namespace: string;
  readonly local: string;
  readonly group: string;
  readonly description: string;
  readonly parameters: readonly Parameter[];
  /** Bar columns read: "open", "high", "low", "close", "volume". */
  readonly inputs: readonly string[];
  readonly outputs: readonly { readonly name: string; readonly kind: OutputKind; readonly doc: string }[];
  /** Supported conventions, the entry's own first, and the warm-up bars at the defaults under each. */
  readonly conventions: readonly Convention[];
  readonly warmUpBars: readonly number[];
  /** The 通达信 text of a formula-file entry; "" otherwise. */
  readonly formula: string;
  /** The parameter called `name` (case-sensitive), or undefined. */
  param(name: string): Parameter | undefined;
}

function parameter(p: IndicatorParameter): Parameter {
  return {
    name: p.name,
    type: p.type,
    default: plainValue(p.defaultValue),
    minimum: p.minimum,
    maximum: p.maximum,
    minimumExclusive: p.minimumExclusive,
    choices: [...p.choices],
    doc: p.doc,
  };
}

/** The Entry of an IndicatorEntry message. */
export function entry(message: IndicatorEntry): Entry {
  const dot = message.name.indexOf(".");
  const parameters = message.parameters.map(parameter);
  return {
    name: message.name,
    namespace: dot < 0 ? message.name : message.name.slice(0, dot),
    local: dot < 0 ? "" : message.name.slice(dot + 1),
    group: message.group,
    description: message.description,
    parameters,
    inputs: [...message.inputs],
    outputs: message.outputs.map((o) => ({ name: o.name, kind: o.kind, doc: o.doc })),
    conventions: [...message.conventions],
    warmUpBars: [...message.warmUpBars],
    formula: message.formula,
    param: (name) => parameters.find((p) => p.name === name),
  };
}

/** The entries of a ListIndicators response, sorted by name as the server sends them. */
export const entries = (response: ListIndicatorsResponse): Entry[] => response.indicators.map(entry);
