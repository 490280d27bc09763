// Catalogue specs and entries, on hand-made messages.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { create } from "@bufbuild/protobuf";

import {
  Convention,
  IndicatorEntrySchema,
  OutputKind,
  ParameterType,
  entry,
  fn,
  formula,
  paramValue,
  plainValue,
} from "../../src/index.js";

describe("specs by name and formula", () => {
  it("fn carries the name, label and parameters by type", () => {
    const spec = fn("talib.BBANDS", { timeperiod: 10, nbdevup: 1.5, matype: "EMA", exact: true }, "bb");
    assert.equal(spec.name, "talib.BBANDS");
    assert.equal(spec.label, "bb");
    assert.equal(spec.parameters.case, undefined);
    assert.deepEqual(
      Object.fromEntries(Object.entries(spec.params).map(([k, v]) => [k, [v.kind.case, v.kind.value]])),
      { timeperiod: ["number", 10], nbdevup: ["number", 1.5], matype: ["choice", "EMA"], exact: ["flag", true] },
    );
  });

  it("formula carries the text and the header's parameters", () => {
    const spec = formula("// param: N = 9, 1..100, span\nDEA:EMA(C,N);", { N: 5 });
    assert.equal(spec.formula, "// param: N = 9, 1..100, span\nDEA:EMA(C,N);");
    assert.equal(spec.name, "");
    assert.equal(spec.params["N"]?.kind.value, 5);
  });

  it("paramValue refuses other types", () => {
    assert.throws(() => paramValue([1] as unknown as number), TypeError);
    assert.equal(plainValue(paramValue("SMA")), "SMA");
    assert.equal(plainValue(undefined), undefined);
  });
});

describe("entries", () => {
  it("an entry's parameters, outputs and warm-up", () => {
    const bbands = entry(
      create(IndicatorEntrySchema, {
        name: "talib.BBANDS",
        group: "Overlap Studies",
        parameters: [
          { name: "timeperiod", type: ParameterType.INT, defaultValue: paramValue(5), minimum: 2, maximum: 100000 },
          { name: "matype", type: ParameterType.ENUM, defaultValue: paramValue("SMA"), choices: ["SMA", "EMA"] },
        ],
        inputs: ["close"],
        outputs: [{ name: "upperband", kind: OutputKind.PRICE }],
        conventions: [Convention.TALIB],
        warmUpBars: [4],
      }),
    );
    assert.equal(bbands.namespace, "talib");
    assert.equal(bbands.local, "BBANDS");
    assert.equal(bbands.param("timeperiod")?.default, 5);
    assert.equal(bbands.param("timeperiod")?.minimum, 2);
    assert.equal(bbands.param("matype")?.minimum, undefined);
    assert.deepEqual(bbands.param("matype")?.choices, ["SMA", "EMA"]);
    assert.equal(bbands.param("TimePeriod"), undefined);
    assert.equal(bbands.outputs[0]?.kind, OutputKind.PRICE);
    assert.deepEqual(bbands.warmUpBars, [4]);
  });
});
