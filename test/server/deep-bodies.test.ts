/**
 * Bodies nested thousands of levels deep (a few KB, no token needed on the visitor POST) once overflowed
 * the stack of the error-message helper: a 500 and a stack trace in the log per request. Every such body
 * is now a 400 with the JSON error shape, and nothing is logged as an internal error.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/server/validation.js';
import { request, serveTrainedFixture } from './helpers.js';

const served = serveTrainedFixture();

/** `levels` nested arrays around 1, as JSON text: `[[[1]]]` for 3. */
const nestedArrays = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
const nestedObjects = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  return request(`${served.app.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

describe('deeply nested JSON bodies', () => {
  it('are a 400 with the error body wherever the nesting sits, never a 500 or a logged stack', async () => {
    // The depth reported (~4,100: 8 KB), and as deep as the 100 kB body limit lets an array go.
    const deep = 4100;
    const deepest = 50_000;
    const bodies: [string, string, Record<string, string>][] = [
      ['/api/recommendations', `{"ratings":[{"itemId":1,"rating":${nestedArrays(deepest)}}]}`, {}],
      ['/api/recommendations', `{"ratings":[{"itemId":${nestedObjects(16_000)},"rating":4}]}`, {}],
      ['/api/recommendations', `{"ratings":[{"itemId":1,"rating":${nestedArrays(deep)}}]}`, {}],
      ['/api/recommendations', `{"ratings":[{"itemId":${nestedObjects(deep)},"rating":4}]}`, {}],
      ['/api/recommendations', `{"ratings":${nestedArrays(deep)}}`, {}],
      ['/api/recommendations', `{"limit":${nestedArrays(deep)}}`, {}],
      ['/api/recommendations', nestedArrays(deep), {}],
      ['/api/model/hidden/activations', `{"ratings":[{"itemId":1,"rating":${nestedObjects(deep)}}]}`, {}],
      ['/api/users/1/ratings', `{"itemId":1,"rating":${nestedArrays(deep)}}`, served.fixture.auth],
      ['/api/users/1/ratings', `{"itemId":${nestedArrays(deepest)},"rating":4}`, served.fixture.auth],
    ];
    for (const [path, body, headers] of bodies) {
      const res = await post(path, body, headers);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.error).toEqual({
        code: 'invalid_request',
        message: expect.stringContaining(`more than ${MAX_JSON_DEPTH} levels deep`),
      });
    }
    expect(served.app.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });

  it('within the depth limit, a wrong nested value is described briefly, its inside elided', async () => {
    const res = await post('/api/recommendations', `{"ratings":[{"itemId":1,"rating":${nestedArrays(MAX_JSON_DEPTH - 3)}}]}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^ratings\[0\]\.rating must be a JSON number .*, got \[\[\[…\]\]\]$/);
    const wide = await post('/api/recommendations', `{"ratings":[{"itemId":{"a":1,"b":[2,3],"c":"x","d":4,"e":5},"rating":4}]}`);
    expect(wide.status).toBe(400);
    expect(wide.body.error.message).toContain('got {"a":1,"b":[2,3],"c":"x","d":4,…}');
    expect(served.app.logs.filter((l) => l.startsWith('internal error'))).toEqual([]);
  });
});
