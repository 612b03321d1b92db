import { expect } from "chai";
import fc from "fast-check";
import {
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  type SafetensorsFault,
  writeSafetensors,
} from "../../../verifier/engine/safetensors";
import { UPowError } from "../../../verifier/errors";
import type { Tensor, TensorMap } from "../../../verifier/engine/tensor";

/** Asserts that `fn` throws a SafetensorsError naming `fault` (and, when given, a message holding `text`). */
function throwsFault(fn: () => unknown, fault: SafetensorsFault, text?: string, label?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, label).to.be.instanceOf(SafetensorsError);
  expect((thrown as SafetensorsError).fault, label).to.equal(fault);
  if (text !== undefined) expect((thrown as Error).message, label).to.include(text);
}

/** A file from a raw header string (no padding added) and raw data. */
function file(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Buffer {
  const h = Buffer.from(header, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLength ?? BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

function pad8(s: string): string {
  return s + " ".repeat((8 - (Buffer.byteLength(s) % 8)) % 8);
}

function allDTypes(): TensorMap {
  return new Map<string, Tensor>([
    ["f64", { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -0]) }],
    ["f32", { dtype: "F32", shape: [2, 2], data: new Float32Array([1.5, NaN, Infinity, -2]) }],
    ["f16", { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0x7e00, 1]) }],
    ["bf16", { dtype: "BF16", shape: [1], data: new Uint16Array([0x3f80]) }],
    ["i64", { dtype: "I64", shape: [], data: new BigInt64Array([-(2n ** 63n)]) }],
    ["i32", { dtype: "I32", shape: [3, 1], data: new Int32Array([1, -1, 2 ** 31 - 1]) }],
    ["i16", { dtype: "I16", shape: [1], data: new Int16Array([-300]) }],
    ["i8", { dtype: "I8", shape: [2], data: new Int8Array([-128, 127]) }],
    ["u8", { dtype: "U8", shape: [0, 5], data: new Uint8Array(0) }],
    ["bool", { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) }],
  ]);
}

function expectSameTensors(a: TensorMap, b: TensorMap): void {
  expect([...a.keys()].sort()).to.deep.equal([...b.keys()]);
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.dtype, name).to.equal(t.dtype);
    expect(u.shape, name).to.deep.equal(t.shape);
    expect(u.data.constructor, name).to.equal(t.data.constructor);
    expect(
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
      name,
    ).to.equal(true);
  }
}

describe("engine/safetensors", function () {
  describe("canonical writer", function () {
    it("lays out a known file byte for byte", function () {
      const bytes = writeSafetensors({
        b: { dtype: "F32", shape: [1], data: new Float32Array([1]) },
        a: { dtype: "I32", shape: [], data: new Int32Array([2]) },
      });
      const header = '{"a":{"data_offsets":[0,4],"dtype":"I32","shape":[]},"b":{"data_offsets":[4,8],"dtype":"F32","shape":[1]}}';
      const expected = file(pad8(header), Buffer.from([2, 0, 0, 0, 0, 0, 0x80, 0x3f]));
      expect(bytes.equals(expected)).to.equal(true);
      expect(bytes.readBigUInt64LE(0) % 8n).to.equal(0n);
    });

    it("does not depend on insertion order", function () {
      const m = allDTypes();
      const reversed = new Map([...m.entries()].reverse());
      expect(writeSafetensors(m).equals(writeSafetensors(reversed))).to.equal(true);
    });

    it("writes an empty map as a padded empty object", function () {
      expect(writeSafetensors(new Map()).equals(file("{}      "))).to.equal(true);
      expect(readSafetensors(writeSafetensors(new Map())).size).to.equal(0);
    });

    it("refuses tensors whose data does not match dtype or shape", function () {
      throwsFault(() => writeSafetensors({ x: { dtype: "F32", shape: [3], data: new Float32Array(2) } }), "tensor", "x");
      throwsFault(() => writeSafetensors({ x: { dtype: "F32", shape: [2], data: new Float64Array(2) } }), "tensor", "Float32Array");
      throwsFault(() => writeSafetensors({ x: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }), "tensor");
      throwsFault(() => writeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }), "tensor");
      throwsFault(() => writeSafetensors({ b: { dtype: "BOOL", shape: [1], data: new Uint8Array([2]) } }), "tensor", "BOOL");
    });
  });

  describe("round trip", function () {
    it("keeps every dtype, scalars, empty tensors and non-ASCII names bit for bit", function () {
      const m = allDTypes();
      m.set('näme "quoted"\\', { dtype: "F32", shape: [1], data: new Float32Array([7]) });
      const bytes = writeSafetensors(m);
      const back = readSafetensors(bytes);
      expectSameTensors(m, back);
      expect([...back.keys()]).to.deep.equal([...back.keys()].sort());
      expect(writeSafetensors(back).equals(bytes)).to.equal(true);
    });

    it("reads tensors at unaligned offsets inside a larger buffer", function () {
      const bytes = writeSafetensors(allDTypes());
      const shifted = Buffer.alloc(bytes.length + 3);
      bytes.copy(shifted, 3);
      expectSameTensors(allDTypes(), readSafetensors(shifted.subarray(3)));
    });

    it("holds for random tensor maps (property)", function () {
      const tensor = fc.oneof(
        fc
          .array(fc.float({ noDefaultInfinity: false }), { maxLength: 12 })
          .map((v): Tensor => ({ dtype: "F32", shape: [v.length], data: new Float32Array(v) })),
        fc
          .array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 6 })
          .map((v): Tensor => ({ dtype: "I64", shape: [v.length, 1], data: new BigInt64Array(v) })),
        fc.array(fc.double(), { maxLength: 6 }).map((v): Tensor => ({ dtype: "F64", shape: [v.length], data: new Float64Array(v) })),
      );
      fc.assert(
        fc.property(
          fc.dictionary(
            fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== "__metadata__"),
            tensor,
            { maxKeys: 6 },
          ),
          (rec) => {
            const m: TensorMap = new Map(Object.entries(rec));
            const bytes = writeSafetensors(m);
            const back = readSafetensors(bytes);
            expectSameTensors(m, back);
            return writeSafetensors(back).equals(bytes);
          },
        ),
        { numRuns: 100 },
      );
    });
  });

  describe("hostile input", function () {
    const f32x2 = Buffer.from(new Float32Array([1, 2]).buffer);
    const entry = (off: [number, number], dtype = "F32", shape = "[1]"): string =>
      `{"data_offsets":[${off[0]},${off[1]}],"dtype":"${dtype}","shape":${shape}}`;

    it("every error is a SafetensorsError and a UPowError", function () {
      try {
        readSafetensors(Buffer.alloc(3));
        expect.fail("no error");
      } catch (e) {
        expect(e).to.be.instanceOf(SafetensorsError);
        expect(e).to.be.instanceOf(UPowError);
        expect((e as SafetensorsError).fault).to.equal("headerOutOfBounds");
        expect((e as Error).name).to.equal("SafetensorsError");
      }
    });

    it("header length beyond the file", function () {
      throwsFault(() => readSafetensors(file("{}      ", undefined, 9n)), "headerOutOfBounds");
    });

    it("header length beyond the size limit", function () {
      throwsFault(() => readSafetensors(file("{}      ", undefined, 2n ** 62n)), "headerTooLarge");
      const ok = writeSafetensors(allDTypes());
      throwsFault(() => readSafetensors(ok, { maxHeaderBytes: 64 }), "headerTooLarge");
    });

    it("bad JSON, invalid UTF-8 or a non-object header", function () {
      throwsFault(() => readSafetensors(file('{"a":')), "headerJson");
      throwsFault(() => readSafetensors(Buffer.concat([file(""), Buffer.alloc(0)])), "headerJson");
      const bad = file('{"\xff":1}');
      bad[10] = 0xff; // a lone continuation byte
      throwsFault(() => readSafetensors(bad), "headerJson");
      throwsFault(() => readSafetensors(file("[]")), "headerJson", "not an object");
    });

    it("malformed entries", function () {
      const cases = [
        '{"a":1}',
        `{"a":{"dtype":"F32","shape":[1]}}`,
        `{"a":{"data_offsets":[0,4],"shape":[1]}}`,
        `{"a":{"data_offsets":[0,4],"dtype":"F32","shape":[-1]}}`,
        `{"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1.5]}}`,
        `{"a":{"data_offsets":[4,0],"dtype":"F32","shape":[0]}}`,
        `{"a":{"data_offsets":[0,4,8],"dtype":"F32","shape":[1]}}`,
        `{"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1],"extra":0}}`,
        `{"":${entry([0, 4])}}`,
        `{"a":${entry([0, 4])},"__metadata__":{"k":1}}`,
        `{"a":{"data_offsets":[0,4],"dtype":"F32","shape":[9007199254740991,2]}}`,
      ];
      for (const h of cases) throwsFault(() => readSafetensors(file(h, f32x2.subarray(0, 4))), "entry", undefined, h);
    });

    it("unknown dtype", function () {
      throwsFault(() => readSafetensors(file(`{"a":${entry([0, 4], "F8_E4M3")}}`, f32x2.subarray(0, 4))), "unknownDType", '"a"');
      throwsFault(() => readSafetensors(file(`{"a":${entry([0, 4], "constructor")}}`, f32x2.subarray(0, 4))), "unknownDType");
    });

    it("shape × dtype size differs from the byte range", function () {
      throwsFault(() => readSafetensors(file(`{"a":${entry([0, 8])}}`, f32x2)), "sizeMismatch", '"a"');
    });

    it("overlapping byte ranges", function () {
      const h = `{"a":${entry([0, 8], "F32", "[2]")},"b":${entry([4, 8])}}`;
      throwsFault(() => readSafetensors(file(h, f32x2)), "overlap");
    });

    it("non-contiguous byte ranges (a gap, or not starting at 0)", function () {
      throwsFault(() => readSafetensors(file(`{"a":${entry([4, 8])}}`, f32x2)), "gap");
      const h = `{"a":${entry([0, 4])},"b":${entry([8, 12])}}`;
      throwsFault(() => readSafetensors(file(h, Buffer.alloc(12))), "gap", '"b"');
    });

    it("a byte range beyond the end of the file", function () {
      throwsFault(() => readSafetensors(file(`{"a":${entry([0, 8], "F32", "[2]")}}`, f32x2.subarray(0, 4))), "outOfBounds");
    });

    it("trailing bytes", function () {
      throwsFault(() => readSafetensors(file(pad8(`{"a":${entry([0, 4])}}`), f32x2)), "trailingBytes");
    });

    it("data out of name order (canonical only)", function () {
      const h = pad8(`{"a":${entry([4, 8])},"b":${entry([0, 4])}}`);
      throwsFault(() => readSafetensors(file(h, f32x2)), "offsetOrder", '"b"');
      const loose = readSafetensors(file(h, f32x2), { requireCanonical: false });
      expect(Array.from(loose.get("a")!.data as Float32Array)).to.deep.equal([2]);
      expect(Array.from(loose.get("b")!.data as Float32Array)).to.deep.equal([1]);
    });

    it("non-canonical headers are refused when hashing and read otherwise", function () {
      const canonical = `{"a":${entry([0, 4])}}`;
      const variants = [
        canonical, // 52 bytes: padding missing
        pad8(canonical) + "        ", // padded too much
        pad8(`{ "a":${entry([0, 4])}}`), // whitespace
        pad8(`{"a":{"dtype":"F32","data_offsets":[0,4],"shape":[1]}}`), // key order
        pad8(`{"a":{"data_offsets":[0,4.0],"dtype":"F32","shape":[1]}}`), // number format
        pad8(`{"\\u0061":${entry([0, 4])}}`), // escaped name
        pad8(`{"__metadata__":{"k":"v"},"a":${entry([0, 4])}}`),
        pad8(`{"a":${entry([0, 4], "F32", "[2]")},"a":${entry([0, 4])}}`), // duplicate key
      ];
      for (const h of variants) {
        throwsFault(() => readSafetensors(file(h, f32x2.subarray(0, 4))), "nonCanonical", undefined, h);
        const t = readSafetensors(file(h, f32x2.subarray(0, 4)), { requireCanonical: false });
        expect(Array.from(t.get("a")!.data as Float32Array)).to.deep.equal([1]);
      }
      expect(readSafetensorsHeader(file(pad8(canonical), f32x2.subarray(0, 4))).entries).to.have.length(1);
    });

    it("BOOL bytes other than 0 or 1", function () {
      const h = pad8(`{"m":${entry([0, 2], "BOOL", "[2]")}}`);
      throwsFault(() => readSafetensors(file(h, Buffer.from([1, 7]))), "invalidBool", '"m"');
    });

    it("never crashes on random bytes or random corruptions (property)", function () {
      const good = writeSafetensors(allDTypes());
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (junk, pos, byte) => {
          for (const candidate of [
            Buffer.from(junk),
            (() => {
              const c = Buffer.from(good);
              c[pos % c.length] = byte;
              return c;
            })(),
          ]) {
            try {
              readSafetensors(candidate);
            } catch (e) {
              if (!(e instanceof SafetensorsError)) return false;
            }
          }
          return true;
        }),
        { numRuns: 300 },
      );
    });
  });
});
