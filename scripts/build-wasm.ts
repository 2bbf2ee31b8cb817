/**
 * Compiles the AssemblyScript kernels to WebAssembly: the rating RBMs' CD kernels
 * (src/rbm/wasm/cdKernels.as.ts → cdKernels.wasm), the implicit RBM's dense kernels over a shared
 * memory (src/rbm/wasm/implicitKernels.as.ts → implicitKernels.wasm) and serving's 8-bit bound of p(watch)
 * (src/rbm/wasm/boundKernels.as.ts → boundKernels.wasm).
 *
 *   npm run build:wasm            # rebuild and write the .wasm
 *   npm run build:wasm -- --check # exit 1 if the committed .wasm differs from a fresh build
 *
 * The .wasm files are committed, so installing or running the project needs no compiler; a test
 * (test/rbm/wasm-build.test.ts) rebuilds it and compares bytes, so it cannot go stale. The compiler
 * version is pinned in package.json so that a rebuild is byte-for-byte reproducible.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const WASM_SOURCE = fileURLToPath(new URL('../src/rbm/wasm/cdKernels.as.ts', import.meta.url));
export const WASM_OUTPUT = fileURLToPath(new URL('../src/rbm/wasm/cdKernels.wasm', import.meta.url));

/**
 * asc flags every kernel module shares: speed-optimised, SIMD; the stub runtime (no GC: the kernels never
 * allocate); no abort import and no assertions; the memory imported (env.memory), sized by JavaScript.
 */
const KERNEL_FLAGS = [
  '-O3',
  '--enable',
  'simd',
  '--runtime',
  'stub',
  '--noAssert',
  '--use',
  'abort=',
  '--importMemory',
  '--initialMemory',
  '1',
];

/** Shared memory (threads' atomics) up to 4 GiB, for the training kernels that several threads run over one RBM. */
const SHARED_MEMORY_FLAGS = ['--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'];

/**
 * The CD kernels: the memory shared, so that several threads' instances can train one RBM
 * (parallelEpoch), grown by the module's `plan` as one RBM's arrays need (cdEngine.ts creates it zeroed).
 */
export const ASC_FLAGS = [...KERNEL_FLAGS, ...SHARED_MEMORY_FLAGS, '--zeroFilledMemory'];

export const IMPLICIT_WASM_SOURCE = fileURLToPath(new URL('../src/rbm/wasm/implicitKernels.as.ts', import.meta.url));
export const IMPLICIT_WASM_OUTPUT = fileURLToPath(new URL('../src/rbm/wasm/implicitKernels.wasm', import.meta.url));

/**
 * The implicit kernels own no memory: they import one shared WebAssembly.Memory (up to 4 GiB) that every
 * training thread instantiates them over (src/rbm/implicitShared.ts), so they need the threads feature.
 */
export const IMPLICIT_ASC_FLAGS = [...KERNEL_FLAGS, ...SHARED_MEMORY_FLAGS];

export const BOUND_WASM_SOURCE = fileURLToPath(new URL('../src/rbm/wasm/boundKernels.as.ts', import.meta.url));
export const BOUND_WASM_OUTPUT = fileURLToPath(new URL('../src/rbm/wasm/boundKernels.wasm', import.meta.url));

/**
 * The serving bound's kernel (src/rbm/watchBounds.ts) runs on one thread over a memory of its own, which
 * it imports unshared: the JavaScript side sizes it for the model's 8-bit weights.
 */
export const BOUND_ASC_FLAGS = KERNEL_FLAGS;

interface WasmModule {
  source: string;
  output: string;
  flags: readonly string[];
}

export const WASM_MODULES: readonly WasmModule[] = [
  { source: WASM_SOURCE, output: WASM_OUTPUT, flags: ASC_FLAGS },
  { source: IMPLICIT_WASM_SOURCE, output: IMPLICIT_WASM_OUTPUT, flags: IMPLICIT_ASC_FLAGS },
  { source: BOUND_WASM_SOURCE, output: BOUND_WASM_OUTPUT, flags: BOUND_ASC_FLAGS },
];

/** Compiles the CD kernels in memory and returns the binary. */
export async function buildWasm(): Promise<Uint8Array> {
  return buildWasmModule(WASM_MODULES[0]);
}

/** Compiles one module's kernels in memory and returns the binary. */
export async function buildWasmModule(module: WasmModule): Promise<Uint8Array> {
  const asc = (await import('assemblyscript/asc')).default;
  const source = await readFile(module.source, 'utf8');
  // asc's command line, with an in-memory file system: the flags above are exactly what is compiled with.
  let out: Uint8Array | null = null;
  const result = await asc.main(['cdKernels.ts', '--outFile', 'cdKernels.wasm', ...module.flags], {
    readFile: (name) => (name === 'cdKernels.ts' ? source : null),
    writeFile: (name, contents) => {
      if (name === 'cdKernels.wasm') out = contents as Uint8Array;
    },
    listFiles: () => [],
  });
  if (result.error) throw new Error(`asc failed: ${result.error.message}\n${result.stderr.toString()}`);
  if (!out) throw new Error('asc wrote no binary');
  return out;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  for (const module of WASM_MODULES) {
    const fresh = await buildWasmModule(module);
    if (check) {
      const committed = await readFile(module.output).catch(() => null);
      if (!committed || Buffer.compare(Buffer.from(fresh), committed) !== 0) {
        process.stderr.write(`build-wasm: ${module.output} is out of date; run npm run build:wasm\n`);
        process.exit(1);
      }
      process.stdout.write(`build-wasm: ${module.output} is up to date (${fresh.length} bytes)\n`);
      continue;
    }
    await writeFile(module.output, fresh);
    process.stdout.write(`build-wasm: wrote ${module.output} (${fresh.length} bytes)\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
