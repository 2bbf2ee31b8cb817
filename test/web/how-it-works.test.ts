/**
 * The "How it works" text: every equation renders to MathML, the build's pre-rendered table holds every
 * one of them (so the page can never meet an equation it lacks), the inline-math splitter, and
 * docs/how-it-works.md is the same text as the page.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prerenderedMathModule } from '../../scripts/build-web.js';
import { SECTIONS, equations, segments, toMarkdown } from '../../web/src/how-it-works/content.js';
import { toMathML } from '../../web/src/how-it-works/mathml.js';

describe('How it works', () => {
  it('covers every topic the issue asks for, each equation rendering to MathML', () => {
    const all = equations();
    expect(all.filter((e) => e.display).length).toBeGreaterThanOrEqual(8);
    for (const { tex, display } of all) {
      const mathml = toMathML(tex, display);
      expect(mathml.startsWith('<math')).toBe(true);
      expect(mathml).not.toMatch(/merror/);
    }
    const text = JSON.stringify(SECTIONS);
    for (const needle of [
      'E(\\\\mathbf{V},\\\\mathbf{h})',
      'p(h_j = 1 \\\\mid',
      'p(v_i^k = 1 \\\\mid',
      'text{model}',
      'Contrastive divergence',
      'backpropagation',
      'absent, not zero',
      'without retraining',
      'watch',
    ]) {
      expect(text).toContain(needle);
    }
  });

  it('builds a table with the MathML of every equation, and nothing in it is LaTeX source', () => {
    const module = prerenderedMathModule();
    for (const { tex, display } of equations()) expect(module).toContain(JSON.stringify(toMathML(tex, display)).slice(1, -1));
    expect(module).not.toContain("from 'temml'");
  });

  it('splits inline math from text, keeps escaped dollars, and rejects an unclosed $', () => {
    expect(segments('a $x^2$ b \\$5')).toEqual([{ text: 'a ' }, { tex: 'x^2' }, { text: ' b $5' }]);
    expect(() => segments('cost $x')).toThrow(/unclosed \$ in: cost \$x/);
  });

  it('docs/how-it-works.md is the page text (regenerate with npm run build:docs)', () => {
    const docs = readFileSync(new URL('../../docs/how-it-works.md', import.meta.url), 'utf8');
    expect(docs, 'docs/how-it-works.md is stale: run npm run build:docs').toBe(toMarkdown());
    for (const section of SECTIONS) expect(docs).toContain(`## ${section.title}`);
  });
});
