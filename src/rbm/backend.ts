/**
 * Chooses the tfjs backend once per process: tfjs-node (native TensorFlow) when its optional install
 * succeeded, else the WebAssembly backend (SIMD, ~30× the cpu backend's matMul here), else the pure-JS
 * cpu backend. The RBM's sparse CD kernels are our own (WebAssembly SIMD, with a plain typed-array
 * fallback: see cdEngine.ts); tfjs is used for the dense products (batch scoring), where it pays.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | null = null;

/** Initialises (once) and returns the name of the fastest tfjs backend that loads here. */
export function initBackend(preferred?: BackendName): Promise<BackendName> {
  chosen ??= pickBackend(preferred ?? (process.env.TFJS_BACKEND as BackendName | undefined));
  return chosen;
}

async function pickBackend(preferred: BackendName | undefined): Promise<BackendName> {
  const order: BackendName[] = preferred ? [preferred, 'tensorflow', 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (await tryBackend(name)) return name;
    } catch {
      // Not available here (e.g. tfjs-node's native library was never downloaded): try the next one.
    }
  }
  throw new Error('no tfjs backend could be initialised (tried tensorflow, wasm, cpu)');
}

async function tryBackend(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') {
    // Optional dependency: its install downloads libtensorflow and fails offline, leaving it absent.
    // A computed specifier keeps bundlers and the type checker from requiring it.
    const moduleName = '@tensorflow/tfjs-node';
    await import(moduleName);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from the package's dist folder.
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dist + path.sep);
  }
  const ok = await tf.setBackend(name);
  if (!ok) return false;
  await tf.ready();
  return tf.getBackend() === name;
}

export { tf };
