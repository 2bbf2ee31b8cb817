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

/**
 * The values of a float32 tensor, without a copy where the backend allows: on the wasm backend a view into
 * its heap (tfjs-backend-wasm keeps each tensor at `dataIdMap.get(dataId).memoryOffset`), elsewhere
 * dataSync. At MovieLens-25M size the implicit RBM reads an items × hidden gradient every mini-batch, and
 * dataSync's copy of it (47 MB, then garbage) cost as much as the update that reads it.
 *
 * The view is valid only until the next tfjs operation (which may grow the wasm heap and detach it) or
 * the tensor's disposal. The caller may overwrite the values only if it disposes the tensor right after
 * (dataSync may return the backend's own storage too, e.g. on the cpu backend).
 */
export function readFloat32(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readFloat32 needs a float32 tensor, got ${t.dtype}`);
  if (tf.getBackend() === 'wasm') {
    // The wasm backend's heap and the tensor's offset in it are internals, read defensively.
    const backend = tf.backend();
    const wasm: unknown = Reflect.get(backend, 'wasm');
    const heap: unknown = typeof wasm === 'object' && wasm !== null ? Reflect.get(wasm, 'HEAPU8') : undefined;
    const dataIdMap: unknown = Reflect.get(backend, 'dataIdMap');
    const entry: unknown =
      dataIdMap instanceof Object && 'get' in dataIdMap && typeof dataIdMap.get === 'function' ? dataIdMap.get(t.dataId) : undefined;
    const offset: unknown = typeof entry === 'object' && entry !== null ? Reflect.get(entry, 'memoryOffset') : undefined;
    if (heap instanceof Uint8Array && typeof offset === 'number' && offset % 4 === 0 && offset + 4 * t.size <= heap.byteLength) {
      return new Float32Array(heap.buffer, heap.byteOffset + offset, t.size);
    }
  }
  return t.dataSync() as Float32Array;
}

export { tf };
