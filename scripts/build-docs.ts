/**
 * Writes docs/how-it-works.md from the text of the page's "How it works" view
 * (web/src/how-it-works/content.ts), so the two never differ. A test fails when the file is stale.
 *
 *   npm run build:docs
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toMarkdown } from '../web/src/how-it-works/content.js';

const target = fileURLToPath(new URL('../docs/how-it-works.md', import.meta.url));
writeFileSync(target, toMarkdown());
console.error(`[build:docs] wrote ${target}`);
