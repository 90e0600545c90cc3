/** Value classes of PROTOCOL.md §3 and the CRC, checked against their plain definitions. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  crc16,
  formatNum,
  isCid,
  isDevid,
  isHex8,
  isName,
  isNames,
  isNum,
  isScalar,
  isText,
  isUint,
  isVer,
  parseNum,
} from "../../src/device/wire/index.js";

const RUNS = { numRuns: 1000 };

/**
 * PROTOCOL.md §3 significant digits, written independently of classes.ts: drop the `-`, the `0.`
 * and the zeros after it of `0.000ddd`, and the point; count what is left.
 */
const significantDigits = (s: string): number =>
  s
    .replace(/^-/, "")
    .replace(/^0\.0*/, "")
    .replace(".", "").length;
const NUM_GRAMMAR = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const numOracle = (s: string): boolean =>
  NUM_GRAMMAR.test(s) && s.length <= 20 && significantDigits(s) <= 15;

/** The dump's shortest form of a num token: fraction's trailing zeros, then a bare point, dropped. */
const shortest = (s: string): string => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);

describe("value classes", () => {
  /** PROTOCOL.md §3 grammars, written as regexes to check the hand-written validators against. */
  const grammar: Array<[string, (s: string) => boolean, (s: string) => boolean]> = [
    ["uint", isUint, (s) => /^(0|[1-9][0-9]{0,9})$/.test(s) && Number(s) <= 4294967295],
    ["num", isNum, numOracle],
    ["name", isName, (s) => /^[a-z][a-z0-9_]{0,15}$/.test(s)],
    ["names", isNames, (s) => /^[a-z][a-z0-9_]{0,15}(\|[a-z][a-z0-9_]{0,15}){0,15}$/.test(s)],
    ["hex8", isHex8, (s) => /^[0-9a-f]{8}$/.test(s)],
    ["devid", isDevid, (s) => /^[A-Za-z0-9._-]{1,32}$/.test(s)],
    ["ver", isVer, (s) => /^[A-Za-z0-9._+-]{1,24}$/.test(s)],
    ["cid", isCid, (s) => /^[0-9a-z]{1,8}$/.test(s)],
    ["scalar", isScalar, (s) => isNum(s) || isName(s)],
    ["text", isText, (s) => /^([!-#&-)+-<>-~]|%[0-9A-F]{2})+$/.test(s) && s.length <= 64],
  ];
  const alphabet = fc.constantFrom(..."0123456789abcfzAFZ-._+|%$*= \xe9");
  const candidate = fc.oneof(
    fc.string({ unit: alphabet, maxLength: 24 }),
    fc.stringMatching(/^-?[0-9]{1,11}(\.[0-9]{0,10})?$/),
    fc.stringMatching(/^-?[0-9]{1,3}\.0{0,6}[0-9]{0,17}$/),
    fc.stringMatching(/^-?[1-9][0-9]{12,17}$/),
    fc.stringMatching(/^[a-z0-9_|]{1,70}$/),
  );

  it.each(grammar)("%s matches its PROTOCOL.md grammar", (_name, check, oracle) => {
    fc.assert(
      fc.property(candidate, (s) => {
        expect(check(s)).toBe(oracle(s));
      }),
      RUNS,
    );
  });

  it("parseNum agrees with Number() on num tokens, and is NaN otherwise", () => {
    fc.assert(
      fc.property(candidate, (s) => {
        expect(parseNum(s)).toBe(isNum(s) ? Number(s) : Number.NaN);
      }),
      RUNS,
    );
  });
});

describe("num significant digits and formatNum", () => {
  it.each([
    ["123456789012345", true],
    ["1234567890123456", false],
    ["-0.000123456789012", true],
    ["0.000123456789012345", true],
    ["0.0001234567890123456", false], // 21 bytes
    ["0.01234567890123456", false],
    ["0.123456789012345", true],
    ["1.00000000000000", true],
    ["1.000000000000000", false],
    ["100000000000000", true],
    ["1000000000000000", false],
    ["0.000000000000000000", true],
    ["-0.00000000000000001", true],
  ])("isNum(%s) is %s", (s, valid) => {
    expect(isNum(s)).toBe(valid);
    expect(numOracle(s)).toBe(valid);
  });

  /** Valid num tokens of every shape: integers, mixed, `0.000ddd`, trailing zeros, negatives. */
  const validNum = fc
    .oneof(
      fc
        .tuple(
          fc.boolean(),
          fc.stringMatching(/^(0|[1-9][0-9]{0,14})$/),
          fc.stringMatching(/^[0-9]{0,15}$/),
        )
        .map(([neg, int, frac]) => (neg ? "-" : "") + int + (frac ? "." + frac : "")),
      fc
        .tuple(
          fc.boolean(),
          fc.nat({ max: 17 }),
          fc.stringMatching(/^[1-9][0-9]{0,14}$/),
          fc.nat(4),
        )
        .map(
          ([neg, zeros, digits, pad]) =>
            (neg ? "-" : "") + "0." + "0".repeat(zeros) + digits + "0".repeat(pad),
        ),
      fc.constantFrom("0", "-0", "0.0", "-0.0", "0.000000000000000000", "999999999999999"),
    )
    .filter(numOracle);

  it("formatNum(parseNum(s)) is s in shortest form, for every valid num", () => {
    fc.assert(
      fc.property(validNum, (s) => {
        expect(formatNum(parseNum(s))).toBe(shortest(s));
      }),
      { numRuns: 20000 },
    );
  });

  it.each([
    ["0.000000000000001", "0.000000000000001"],
    ["0.000000000000000001", "0.000000000000000001"],
    ["-0.00000000000000001", "-0.00000000000000001"],
    ["0.00000123456789012", "0.00000123456789012"],
    ["0.000123456789012345", "0.000123456789012345"],
    ["999999999999999", "999999999999999"],
    ["-99999999999999.9", "-99999999999999.9"],
    ["123456789012345", "123456789012345"],
    ["10000000000000.0", "10000000000000"],
    ["0.50", "0.5"],
    ["100.0", "100"],
    ["-0.0", "-0"],
    ["1.00000000000000", "1"],
  ])("formatNum(parseNum(%s)) is %s", (s, want) => {
    expect(formatNum(parseNum(s))).toBe(want);
  });

  it.each([
    [1e19, "20 digits written out"],
    [9999999999999998e3, "19 digits written out"],
    [1e21, "22 digits, and String() would use an exponent"],
    [1e15, "16 digits written out"],
    [0.1 + 0.2, "17 significant digits"],
    [1e-19, "21 bytes"],
    [1.5e-300, "far too small"],
    [Number.MAX_VALUE, "far too large"],
  ])("formatNum(%s) is undefined: %s", (x) => {
    expect(formatNum(x)).toBeUndefined();
  });

  it("formatNum of any double is a valid num that parses back to it, or undefined", () => {
    const doubles = fc.oneof(
      fc.double({ noNaN: true }),
      fc.double({ min: 1e14, max: 1e21, noNaN: true }),
      fc.double({ min: -1e-6, max: 1e-6, noNaN: true }),
      fc
        .tuple(fc.integer({ min: -999999999999999, max: 999999999999999 }), fc.nat(18))
        .map(([m, k]) => m / 10 ** k),
    );
    let defined = 0;
    fc.assert(
      fc.property(doubles, (x) => {
        const s = formatNum(x);
        if (s === undefined) return;
        defined++;
        expect(s).not.toMatch(/e/i);
        expect(isNum(s)).toBe(true);
        expect(Object.is(parseNum(s), x)).toBe(true);
      }),
      { numRuns: 5000 },
    );
    expect(defined).toBeGreaterThan(1000);
  });
});

describe("crc16", () => {
  it("has the CCITT-FALSE check value", () => {
    expect(crc16("123456789")).toBe(0x29b1);
    expect(crc16("")).toBe(0xffff);
  });

  it("matches the bitwise definition", () => {
    const bitwise = (s: string): number => {
      let crc = 0xffff;
      for (let i = 0; i < s.length; i++) {
        crc ^= s.charCodeAt(i) << 8;
        for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
        crc &= 0xffff;
      }
      return crc;
    };
    const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => String.fromCharCode(...b));
    fc.assert(
      fc.property(bytes, (s) => {
        expect(crc16(s)).toBe(bitwise(s));
      }),
      RUNS,
    );
  });
});
