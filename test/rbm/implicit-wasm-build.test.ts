/**
 * The committed src/rbm/wasm/implicitKernels.wasm is what implicitKernels.as.ts compiles to today (a fresh
 * build must give the same bytes; fix a failure with `npm run build:wasm`), and it imports one shared
 * memory, which every training thread instantiates it over.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildWasmModule, IMPLICIT_WASM_OUTPUT, WASM_MODULES } from '../../scripts/build-wasm.js';

describe('implicitKernels.wasm', () => {
  it('is up to date with implicitKernels.as.ts (a rebuild gives identical bytes)', async () => {
    const committed = new Uint8Array(await readFile(IMPLICIT_WASM_OUTPUT));
    const fresh = await buildWasmModule(WASM_MODULES.find((m) => m.output === IMPLICIT_WASM_OUTPUT)!);
    expect(Buffer.compare(Buffer.from(fresh), Buffer.from(committed)), 'run npm run build:wasm').toBe(0);
  });

  it('imports only a memory, and instantiates over a shared one', async () => {
    const module = new WebAssembly.Module(await readFile(IMPLICIT_WASM_OUTPUT));
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    // σ(0) = 0.5 through the kernels' own exp.
    const x = new Float32Array(memory.buffer, 65536, 5);
    x.set([0, 2, -2, 40, -40]);
    (instance.exports.sigmoidInPlace as (p: number, n: number) => void)(65536, 5);
    [0.5, 1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(2)), 1, 1 / (1 + Math.exp(40))].forEach((want, i) => expect(x[i]).toBeCloseTo(want, 6));
  });
});
