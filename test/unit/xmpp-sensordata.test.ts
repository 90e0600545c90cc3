/** XEP-0323 `<fields>` and `<reading>` identity: exact XML, strict parsing, round trips. */
import { xml } from "@xmpp/client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/reading.js";
import {
  formatDecimal,
  parseReadingIds,
  parseSensorDataFields,
  readingIdElements,
  SensorDataError,
  sensorDataFields,
  type SensorDataErrorCode,
} from "../../src/xmpp/sensordata.js";
import { parseStanza, sampleReading } from "../support/stanza-fixtures.js";

const parse = parseStanza;

const reading: Reading = sampleReading([
  { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
  { sensor: "rssi", kind: "num", value: -61 },
  { sensor: "door", kind: "enum", value: "closed" },
  { sensor: "motion", kind: "bool", value: true },
]);

describe("sensorDataFields", () => {
  it("writes one node and timestamp per reading, one element per value", () => {
    expect(sensorDataFields([reading], { seqnr: "7", done: true }).toString()).toBe(
      '<fields xmlns="urn:xmpp:iot:sensordata" seqnr="7" done="true">' +
        '<node nodeId="envnode-01"><timestamp value="2025-01-02T03:04:05.678Z">' +
        '<numeric name="temp" value="21.5" unit="°C" momentary="true" automaticReadout="true"/>' +
        '<numeric name="rssi" value="-61" unit="" momentary="true" automaticReadout="true"/>' +
        '<enum name="door" value="closed" dataType="urn:xmpp-iot-agent:enum:door" momentary="true"/>' +
        '<boolean name="motion" value="true" momentary="true"/>' +
        "</timestamp></node></fields>",
    );
  });

  it("defaults to seqnr 0 (required by the schema) and leaves done out", () => {
    const el = sensorDataFields([]);
    expect(el.toString()).toBe('<fields xmlns="urn:xmpp:iot:sensordata" seqnr="0"/>');
  });

  it("escapes names and values", () => {
    const r = {
      ...reading,
      device: "a<b",
      values: [{ sensor: "x'y", kind: "enum" as const, value: '"&' }],
    };
    const out = sensorDataFields([r]).toString();
    expect(out).toContain('nodeId="a&lt;b"');
    expect(out).toContain('name="x&apos;y" value="&quot;&amp;"');
  });

  it.each([
    [
      { ...reading, values: [{ sensor: "t", kind: "num" as const, value: "1" }] },
      /kind num with a string/,
    ],
    [
      { ...reading, values: [{ sensor: "t", kind: "bool" as const, value: 1 }] },
      /kind bool with a number/,
    ],
    [
      { ...reading, values: [{ sensor: "t", kind: "num" as const, value: NaN }] },
      /NaN is not a finite/,
    ],
    [{ ...reading, values: [{ sensor: "", kind: "num" as const, value: 1 }] }, /empty sensor name/],
    [{ ...reading, device: "" }, /fields\/node\[0\]: empty device id/],
    [{ ...reading, receivedAt: 1e20 }, /bad time/],
  ])("refuses what it cannot represent (%#)", (r, message) => {
    expect(() => sensorDataFields([r])).toThrow(message);
  });

  it("refuses a seqnr that is not an xs:int", () => {
    expect(() => sensorDataFields([], { seqnr: "abc" })).toThrow(SensorDataError);
  });
});

describe("formatDecimal", () => {
  it.each([
    [21.5, "21.5"],
    [-61, "-61"],
    [-0, "0"],
    [1e-7, "0.0000001"],
    [-2.5e-8, "-0.000000025"],
    [1e21, "1000000000000000000000"],
    [1.234e25, "12340000000000000000000000"],
  ])("%d → %s", (n, text) => {
    expect(formatDecimal(n)).toBe(text);
  });

  it("never writes an exponent and always reads back to the same double", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = formatDecimal(n);
        expect(text).toMatch(/^-?\d+(\.\d+)?$/);
        expect(Number(text)).toBe(n === 0 ? 0 : n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("reading ids", () => {
  it("writes one <reading> per reading and reads them back from the message", () => {
    const els = readingIdElements([reading, { ...reading, seq: 1524 }]);
    expect(els.map(String)).toEqual([
      '<reading xmlns="urn:xmpp-iot-agent:reading:1" device="envnode-01" boot="b7f3" seq="1523"/>',
      '<reading xmlns="urn:xmpp-iot-agent:reading:1" device="envnode-01" boot="b7f3" seq="1524"/>',
    ]);
    expect(parseReadingIds(xml("message", {}, ...els))).toEqual([
      { device: "envnode-01", boot: "b7f3", seq: 1523 },
      { device: "envnode-01", boot: "b7f3", seq: 1524 },
    ]);
  });

  it("reads the unsynchronised-time marker back, and refuses any other value", () => {
    const els = readingIdElements([reading, { ...reading, seq: 1524, timeSynced: false }]);
    expect(parseReadingIds(xml("message", {}, ...els))).toEqual([
      { device: "envnode-01", boot: "b7f3", seq: 1523 },
      { device: "envnode-01", boot: "b7f3", seq: 1524, timeSynced: false },
    ]);
    const msg = parse(
      "<message><reading xmlns='urn:xmpp-iot-agent:reading:1' device='d' boot='b' seq='1' timeSynced='no'/></message>",
    );
    expect(() => parseReadingIds(msg)).toThrow(
      /reading\[0\]: 'timeSynced' is "no", expected false/,
    );
  });

  it("rejects a seq that is not an unsigned integer", () => {
    const msg = parse(
      "<message><reading xmlns='urn:xmpp-iot-agent:reading:1' device='d' boot='b' seq='-1'/></message>",
    );
    expect(() => parseReadingIds(msg)).toThrow(/reading\[0\]: 'seq' is "-1"/);
  });
});

describe("parseSensorDataFields", () => {
  it("round-trips what sensorDataFields writes", () => {
    const second = { ...reading, seq: 1524, receivedAt: reading.receivedAt + 1000 };
    const parsed = parseSensorDataFields(sensorDataFields([reading, second], { seqnr: "5" }));
    expect(parsed.seqnr).toBe("5");
    expect(parsed.done).toBe(false);
    expect(parsed.blocks.map((b) => [b.nodeId, b.time])).toEqual([
      ["envnode-01", reading.receivedAt],
      ["envnode-01", second.receivedAt],
    ]);
    expect(parsed.blocks[0]?.values).toEqual([
      { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
      { sensor: "rssi", kind: "num", value: -61 },
      { sensor: "door", kind: "enum", value: "closed", dataType: "urn:xmpp-iot-agent:enum:door" },
      { sensor: "motion", kind: "bool", value: true },
    ]);
  });

  it("reads XEP-0323's own example, int/long fields and zone-less timestamps", () => {
    const parsed = parseSensorDataFields(
      parse(`<fields xmlns='urn:xmpp:iot:sensordata' seqnr='7' done='1'>
        <node nodeId='Device05'><timestamp value='2013-03-07T22:20:45'>
          <numeric name='Temperature' momentary='true' automaticReadout='true'
                   value='23.4' unit='°C' module='Whatchamacallit' stringIds='1'/>
          <int name='Count' value='-12'/><long name='Energy' value='9007199254740991'/>
          <x:extension xmlns:x='urn:example:other'/>
        </timestamp></node></fields>`),
    );
    expect(parsed).toEqual({
      seqnr: "7",
      done: true,
      blocks: [
        {
          nodeId: "Device05",
          timestamp: "2013-03-07T22:20:45",
          values: [
            { sensor: "Temperature", kind: "num", value: 23.4, unit: "°C" },
            { sensor: "Count", kind: "num", value: -12 },
            { sensor: "Energy", kind: "num", value: 9007199254740991 },
          ],
        },
      ],
    });
  });

  const FIELDS = "<fields xmlns='urn:xmpp:iot:sensordata' seqnr='1'>";
  const inTimestamp = (field: string) =>
    `${FIELDS}<node nodeId='n'><timestamp value='2025-01-01T00:00:00Z'>${field}</timestamp></node></fields>`;

  it.each<[string, SensorDataErrorCode, RegExp]>([
    ["<fields xmlns='urn:example' seqnr='1'/>", "element", /expected <fields xmlns/],
    ["<fields xmlns='urn:xmpp:iot:sensordata'/>", "attribute", /missing attribute 'seqnr'/],
    ["<fields xmlns='urn:xmpp:iot:sensordata' seqnr='x'/>", "attribute", /'seqnr' is "x"/],
    [
      "<fields xmlns='urn:xmpp:iot:sensordata' seqnr='1' done='yes'/>",
      "attribute",
      /'done' is "yes"/,
    ],
    [`${FIELDS}<node/></fields>`, "attribute", /node\[0\]: missing attribute 'nodeId'/],
    [`${FIELDS}<timestamp value='2025-01-01T00:00:00Z'/></fields>`, "element", /expected <node>/],
    [
      `${FIELDS}<node nodeId='n'><timestamp value='today'/></node></fields>`,
      "attribute",
      /xs:dateTime/,
    ],
    [
      inTimestamp("<numeric name='t' value='1,5' unit='C'/>"),
      "attribute",
      /numeric\[0\]: 'value' is "1,5"/,
    ],
    [inTimestamp("<numeric name='t' value='INF' unit='C'/>"), "attribute", /finite xs:double/],
    [inTimestamp("<numeric name='t' value='1'/>"), "attribute", /missing attribute 'unit'/],
    [inTimestamp("<boolean name='b' value='yes'/>"), "attribute", /'value' is "yes"/],
    [inTimestamp("<enum name='e' value='open'/>"), "attribute", /missing attribute 'dataType'/],
    [inTimestamp("<int name='i' value='1.5'/>"), "attribute", /'value' is "1.5", expected int/],
    [inTimestamp("<numeric value='1' unit=''/>"), "attribute", /missing attribute 'name'/],
    [
      inTimestamp("<string name='s' value='hi'/>"),
      "unsupported",
      /string\[0\]: field type <string>/,
    ],
    [inTimestamp("<bogus name='s' value='hi'/>"), "element", /unexpected element <bogus>/],
  ])("rejects %s", (text, code, message) => {
    let error: unknown;
    try {
      parseSensorDataFields(parse(text));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SensorDataError);
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) as unknown });
  });
});
