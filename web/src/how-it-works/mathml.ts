/**
 * LaTeX → MathML with temml. The page never runs this code: scripts/build-web.ts replaces this module in
 * the bundle by a table of every equation of ./content.ts rendered at build time (same function, same
 * options), so the browser gets plain MathML and no math library. Node (tests, the build itself) runs it
 * as written. An equation the table lacks fails loudly in the browser rather than showing raw LaTeX.
 */
import temml from 'temml';

export const TEMML_OPTIONS = { throwOnError: true, annotate: true } as const;

export function toMathML(tex: string, display: boolean): string {
  return temml.renderToString(tex, { ...TEMML_OPTIONS, displayMode: display });
}
