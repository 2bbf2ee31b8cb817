/**
 * Compiles the AssemblyScript CD kernels (src/rbm/wasm/cdKernels.as.ts) to src/rbm/wasm/cdKernels.wasm.
 *
 *   npm run build:wasm            # rebuild and write the .wasm
 *   npm run build:wasm -- --check # exit 1 if the committed .wasm differs from a fresh build
 *
 * The .wasm is committed, so installing or running the project needs no compiler; a test
 * (test/rbm/wasm-build.test.ts) rebuilds it and compares bytes, so it cannot go stale. The compiler
 * version is pinned in package.json so that a rebuild is byte-for-byte reproducible.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const WASM_SOURCE = fileURLToPath(new URL('../src/rbm/wasm/cdKernels.as.ts', import.meta.url));
export const WASM_OUTPUT = fileURLToPath(new URL('../src/rbm/wasm/cdKernels.wasm', import.meta.url));

/**
 * asc flags: speed-optimised, SIMD and threads (atomics); the stub runtime (no GC: the kernels never
 * allocate); no abort import and no assertions; the memory imported (env.memory) and shared, so that
 * several threads' instances can train one RBM (parallelEpoch), up to 4 GiB, grown by the module's `plan`
 * as one RBM's arrays need (cdEngine.ts creates it zeroed).
 */
export const ASC_FLAGS = [
  '-O3',
  '--enable',
  'simd',
  '--enable',
  'threads',
  '--importMemory',
  '--sharedMemory',
  '--zeroFilledMemory',
  '--runtime',
  'stub',
  '--noAssert',
  '--use',
  'abort=',
  '--initialMemory',
  '1',
  '--maximumMemory',
  '65536',
];

/** Compiles the kernels in memory and returns the binary. */
export async function buildWasm(): Promise<Uint8Array> {
  const asc = (await import('assemblyscript/asc')).default;
  const source = await readFile(WASM_SOURCE, 'utf8');
  // asc's command line, with an in-memory file system: the flags above are exactly what is compiled with.
  let out: Uint8Array | null = null;
  const result = await asc.main(['cdKernels.ts', '--outFile', 'cdKernels.wasm', ...ASC_FLAGS], {
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
  const fresh = await buildWasm();
  if (check) {
    const committed = await readFile(WASM_OUTPUT).catch(() => null);
    if (!committed || Buffer.compare(Buffer.from(fresh), committed) !== 0) {
      process.stderr.write(`build-wasm: ${WASM_OUTPUT} is out of date; run npm run build:wasm\n`);
      process.exit(1);
    }
    process.stdout.write(`build-wasm: ${WASM_OUTPUT} is up to date (${fresh.length} bytes)\n`);
    return;
  }
  await writeFile(WASM_OUTPUT, fresh);
  process.stdout.write(`build-wasm: wrote ${WASM_OUTPUT} (${fresh.length} bytes)\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
