/**
 * Builds the web page (web/) into web/dist: app.js (the TypeScript bundled, minified, with a source map),
 * styles.css (minified) and the static files (index.html, favicon.svg). No CDN: everything the page
 * needs is in that folder, which the server serves at /.
 *
 * The equations of "How it works" are rendered to MathML here, at build time: the bundle's copy of
 * web/src/how-it-works/mathml.ts is a lookup table of every equation in web/src/how-it-works/content.ts
 * (see `prerenderedMathPlugin`). In --watch mode an edited equation needs a restart of the watcher.
 *
 *   npm run build:web            # one build
 *   npm run build:web -- --watch # rebuild on change (development)
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { equations } from '../web/src/how-it-works/content.js';
import { toMathML } from '../web/src/how-it-works/mathml.js';

const WEB_DIR = fileURLToPath(new URL('../web', import.meta.url));
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg'];

export interface BuildWebOptions {
  /** Output folder (default web/dist). */
  outDir?: string;
  /** Keep rebuilding on change instead of building once. */
  watch?: boolean;
}

export interface BuildWebResult {
  outDir: string;
  /** Output files and their sizes in bytes. */
  files: { path: string; bytes: number }[];
}

/**
 * Replaces web/src/how-it-works/mathml.ts in the bundle by the MathML of every equation of the content,
 * rendered now by the real module (temml, throwOnError: a bad equation fails the build with its LaTeX).
 */
export function prerenderedMathModule(): string {
  const table: Record<string, string> = {};
  for (const { tex, display } of equations()) {
    const key = `${display ? 'D' : 'I'}:${tex}`;
    if (table[key] !== undefined) continue;
    try {
      table[key] = toMathML(tex, display);
    } catch (error) {
      throw new Error(
        `equation in web/src/how-it-works/content.ts does not render: ${tex}\n${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return [
    `const TABLE = ${JSON.stringify(table)};`,
    'export function toMathML(tex, display) {',
    "  const mathml = TABLE[(display ? 'D:' : 'I:') + tex];",
    "  if (mathml === undefined) throw new Error('equation not pre-rendered at build time: ' + tex);",
    '  return mathml;',
    '}',
  ].join('\n');
}

const prerenderedMathPlugin: esbuild.Plugin = {
  name: 'prerendered-mathml',
  setup(build) {
    build.onLoad({ filter: /[\\/]how-it-works[\\/]mathml\.ts$/ }, () => ({ contents: prerenderedMathModule(), loader: 'js' }));
  },
};

function esbuildOptions(outDir: string): esbuild.BuildOptions {
  return {
    absWorkingDir: WEB_DIR,
    entryPoints: { app: 'src/main.ts', styles: 'styles.css' },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Evergreen browsers (native ES modules); esbuild lowers anything newer than these.
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [prerenderedMathPlugin],
  };
}

async function copyStatic(outDir: string): Promise<void> {
  await Promise.all(STATIC_FILES.map((file) => copyFile(path.join(WEB_DIR, file), path.join(outDir, file))));
}

/** Builds once (or starts watching) and returns what was written. */
export async function buildWeb(options: BuildWebOptions = {}): Promise<BuildWebResult> {
  const outDir = path.resolve(options.outDir ?? path.join(WEB_DIR, 'dist'));
  await mkdir(outDir, { recursive: true });
  if (options.watch) {
    const context = await esbuild.context({
      ...esbuildOptions(outDir),
      plugins: [
        prerenderedMathPlugin,
        {
          name: 'copy-static',
          setup(build) {
            build.onEnd(async (result) => {
              await copyStatic(outDir);
              console.error(`[build:web] rebuilt with ${result.errors.length} error(s)`);
            });
          },
        },
      ],
    });
    await context.watch();
    return { outDir, files: [] };
  }
  const result = await esbuild.build(esbuildOptions(outDir));
  await copyStatic(outDir);
  const files = Object.entries(result.metafile?.outputs ?? {}).map(([file, output]) => ({
    path: path.relative(process.cwd(), path.resolve(WEB_DIR, file)),
    bytes: output.bytes,
  }));
  return { outDir, files };
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const watch = process.argv.includes('--watch');
  buildWeb({ watch })
    .then(({ outDir, files }) => {
      if (watch) {
        console.error(`[build:web] watching web/ → ${path.relative(process.cwd(), outDir)}`);
        return;
      }
      for (const f of files) console.error(`[build:web] ${f.path} ${(f.bytes / 1024).toFixed(1)} kB`);
    })
    .catch((error: unknown) => {
      // esbuild has already printed the located errors (file:line:column); add what failed.
      console.error(`[build:web] failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    });
}
