/**
 * The committed src/rbm/wasm/cdKernels.wasm is what the AssemblyScript source compiles to today: a fresh
 * build (scripts/build-wasm.ts, the pinned asc) must give the same bytes, so the binary cannot go stale
 * after an edit of cdKernels.as.ts. Fix a failure with `npm run build:wasm`.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildWasm, WASM_OUTPUT } from '../../scripts/build-wasm.js';

describe('cdKernels.wasm', () => {
  it('is up to date with cdKernels.as.ts (a rebuild gives identical bytes)', async () => {
    const committed = new Uint8Array(await readFile(WASM_OUTPUT));
    const fresh = await buildWasm();
    expect(fresh.length, 'run npm run build:wasm').toBe(committed.length);
    expect(Buffer.compare(Buffer.from(fresh), Buffer.from(committed)), 'run npm run build:wasm').toBe(0);
  });

  it('imports only its (shared) memory and uses 128-bit SIMD', async () => {
    const bytes = await readFile(WASM_OUTPUT);
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    // An unshared memory is refused: the module declares its memory shared, for the training threads.
    expect(() => new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 65536 }) } })).toThrow();
    // f32x4.add and f32x4.mul: prefix 0xfd, then the opcode as LEB128 (228 and 230).
    expect(bytes.indexOf(Buffer.from([0xfd, 0xe4, 0x01]))).toBeGreaterThan(0);
    expect(bytes.indexOf(Buffer.from([0xfd, 0xe6, 0x01]))).toBeGreaterThan(0);
  });
});
