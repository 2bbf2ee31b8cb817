import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { ModelStore, openDatabase, UnknownModelVersionError, type Database } from '../../src/store/index.js';

let db: Database;
let models: ModelStore<{ epochs: number }>;

beforeEach(() => {
  db = openDatabase(':memory:');
  models = new ModelStore<{ epochs: number }>(db);
});
afterEach(() => db.close());

/** Floats whose bits a conversion through a JS number could change or that often trip up encoders. */
function awkwardFloats(): Float32Array {
  const values = new Float32Array(12);
  const bits = new Uint32Array(values.buffer);
  bits[0] = 0x7fc00001; // quiet NaN with a payload
  bits[1] = 0xffffffff; // negative NaN, all payload bits
  bits[2] = 0x80000000; // -0
  bits[3] = 0x00000001; // smallest subnormal
  bits[4] = 0x7f7fffff; // largest finite
  bits[5] = 0x7f800000; // +Infinity
  bits[6] = 0xff800000; // -Infinity
  values[7] = 1 / 3;
  values[8] = -123456.789;
  values[9] = 1e-38;
  values[10] = Math.PI;
  values[11] = 0;
  return values;
}

const bitsOf = (values: Float32Array): number[] => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

describe('ModelStore', () => {
  it('round-trips tensors bit for bit, including NaN payloads, -0 and subnormals', () => {
    const rng = new Rng(3);
    const W = new Float32Array(10_001).map(() => rng.normal());
    const awkward = awkwardFloats();
    const id = models.saveVersion({ epochs: 3 }, { W, awkward, empty: new Float32Array(0) });
    const loaded = models.load(id);
    expect(bitsOf(loaded.tensors.W)).toEqual(bitsOf(W));
    expect(bitsOf(loaded.tensors.awkward)).toEqual(bitsOf(awkward));
    expect(loaded.tensors.empty).toHaveLength(0);
    expect(loaded.meta).toEqual({ epochs: 3 });
  });

  it('stores only the viewed range of a Float32Array that is a view into a larger buffer', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const id = models.saveVersion({ epochs: 1 }, { b: view });
    expect(Array.from(models.load(id).tensors.b)).toEqual([1, 2, 3]);
  });

  it('hands back fresh, aligned arrays that share nothing with later loads', () => {
    const id = models.saveVersion({ epochs: 1 }, { c: new Float32Array([1, 2, 3]) });
    const first = models.load(id).tensors.c;
    expect(first.byteOffset).toBe(0);
    first[0] = 42;
    expect(models.load(id).tensors.c[0]).toBe(1);
  });

  it('makes each saved version current, keeping exactly one current', () => {
    expect(models.current()).toBeNull();
    expect(models.currentId()).toBeNull();
    const v1 = models.saveVersion({ epochs: 1 }, { W: new Float32Array([1]) });
    const v2 = models.saveVersion({ epochs: 2 }, { W: new Float32Array([2]) });
    expect(v2).toBeGreaterThan(v1);
    expect(models.currentId()).toBe(v2);
    expect(models.current()).toMatchObject({ id: v2, meta: { epochs: 2 } });
    expect(models.current()?.createdAt).toEqual(expect.any(Number));
    expect(models.list().map(({ id, isCurrent }) => ({ id, isCurrent }))).toEqual([
      { id: v1, isCurrent: false },
      { id: v2, isCurrent: true },
    ]);
    expect(models.load(v1).tensors.W[0]).toBe(1);
  });

  describe('a failed save changes nothing and the previous version stays current', () => {
    let previous: number;
    let before: unknown;
    beforeEach(() => {
      previous = models.saveVersion({ epochs: 1 }, { W: new Float32Array([1, 2]) });
      before = {
        versions: db.prepare('SELECT * FROM model_versions').all(),
        tensors: db.prepare('SELECT * FROM model_tensors').all(),
      };
    });
    const expectUnchanged = (): void => {
      expect(models.currentId()).toBe(previous);
      expect({
        versions: db.prepare('SELECT * FROM model_versions').all(),
        tensors: db.prepare('SELECT * FROM model_tensors').all(),
      }).toEqual(before);
    };

    it('when a tensor is not a Float32Array', () => {
      const tensors = { W: new Float32Array([3]), c: new Float64Array([1]) as unknown as Float32Array };
      expect(() => models.saveVersion({ epochs: 2 }, tensors)).toThrow('tensor "c" must be a Float32Array, got Float64Array');
      expectUnchanged();
    });

    it('when the meta is not JSON', () => {
      const meta = { epochs: 2, big: 1n } as unknown as { epochs: number };
      expect(() => models.saveVersion(meta, { W: new Float32Array([3]) })).toThrow(/BigInt/);
      expectUnchanged();
    });

    it('when writing fails after the version row and a first tensor are in', () => {
      // A Float32Array whose length cannot be read: the failure happens inside the transaction.
      class Unreadable extends Float32Array {
        override get length(): number {
          throw new Error('disk on fire');
        }
      }
      const tensors = { a: new Float32Array([5]), z: new Unreadable(2) };
      expect(() => models.saveVersion({ epochs: 2 }, tensors)).toThrow('disk on fire');
      expectUnchanged();
    });
  });

  it('refuses an unknown version id and a corrupt blob', () => {
    expect(() => models.load(404)).toThrow(UnknownModelVersionError);
    const id = models.saveVersion({ epochs: 1 }, { W: new Float32Array([1, 2, 3]) });
    db.prepare("UPDATE model_tensors SET data = x'000000' WHERE version_id = ?").run(id);
    expect(() => models.load(id)).toThrow(
      `tensor "W" of model version ${id} is corrupt: expected 3 float32 values (12 bytes), found 3 bytes`,
    );
  });
});
