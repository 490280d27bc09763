// Contract tests of the catalogue: listIndicators, and entries computed by
// name and formula checked against the test's own computation from the bars.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { IdcClient, OutputKind, ParameterType, fn, formula, indicatorFrame, macdRows } from "../../src/index.js";

const ADDR = process.env["IDC_ADDR"] ?? "";

function closeTo(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what} = ${actual}, want ${expected}`);
}

let client: IdcClient;

before(() => {
  assert.ok(ADDR !== "", "the contract tests need a running idc server: set IDC_ADDR=host:port");
  client = new IdcClient(ADDR, { timeoutMs: 60_000 });
});

after(() => client.close());

describe("ListIndicators", () => {
  it("lists TA-Lib, the 通达信 files and the example plugin, with typed parameters", async () => {
    const entries = await client.listIndicators();
    const names = entries.map((e) => e.name);
    assert.deepEqual(names, [...names].sort());
    const count = (ns: string) => entries.filter((e) => e.namespace === ns).length;
    assert.ok(count("talib") >= 150 && count("tdx") >= 18, `talib ${count("talib")}, tdx ${count("tdx")}`);
    const adx = entries.find((e) => e.name === "talib.ADX");
    assert.ok(adx !== undefined);
    assert.equal(adx.param("timeperiod")?.type, ParameterType.INT);
    assert.equal(adx.param("timeperiod")?.default, 14);
    assert.deepEqual(adx.warmUpBars, [27]); // TA-Lib's ADX lookback, 2 * 14 - 1
    const example = await client.listIndicators("example");
    assert.deepEqual(
      example.map((e) => e.name),
      ["example.DONCHIAN", "example.ZSCORE"],
    );
  });
});

describe("compute by name and formula", () => {
  it("the example plugin's z-score and talib.WMA equal their definitions; a formula's DIF its EMAs", async () => {
    const rows = macdRows(await client.getMACD({ symbol: "SPY" }));
    const response = await client.computeIndicators({
      symbol: "SPY",
      indicators: [
        fn("example.ZSCORE", { timeperiod: 10 }),
        fn("talib.WMA", { timeperiod: 5 }),
        formula("DIF:EMA(C,12)-EMA(C,26);"),
      ],
    });
    const frame = indicatorFrame(response);
    assert.deepEqual(frame.names, ["zscore", "wma", "formula"]);
    assert.deepEqual(
      response.series.map((s) => [s.firstValidIndex, s.kind]),
      [
        [9, OutputKind.UNITLESS],
        [4, OutputKind.PRICE],
        [0, OutputKind.UNITLESS],
      ],
    );
    let fast = rows[0]!.close;
    let slow = rows[0]!.close;
    rows.forEach((row, i) => {
      if (i > 0) {
        fast = (2 * row.close + 11 * fast) / 13; // 通达信's EMA, seeded with the first close
        slow = (2 * row.close + 25 * slow) / 27;
      }
      assert.ok(Math.abs(frame.columns.get("formula")![i]! - (fast - slow)) <= 1e-9 * row.close, `DIF at ${i}`);
      if (i < rows.length - 200) return;
      const window = rows.slice(i - 9, i + 1).map((r) => r.close);
      const mean = window.reduce((a, b) => a + b, 0) / 10;
      const std = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / 10);
      closeTo(frame.columns.get("zscore")![i]!, (row.close - mean) / std, `zscore at ${i}`);
      const wma = rows.slice(i - 4, i + 1).reduce((a, r, k) => a + (k + 1) * r.close, 0) / 15;
      closeTo(frame.columns.get("wma")![i]!, wma, `wma at ${i}`);
    });
  });
});
