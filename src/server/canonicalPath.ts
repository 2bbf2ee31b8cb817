/**
 * One spelling per path, decided before anything looks at the path: the rate limiters, the token check,
 * the routers and the static files all see the same string, so no route can be reached by a spelling a
 * guard does not recognise (`POST /api/Recommendations//` once went past the visitor limit and was still
 * answered by the visitor route).
 *
 * The canonical form of a request path (RFC 3986 §6.2.2 normalisation, plus what HTTP servers commonly
 * treat as equal):
 * - percent-encoded unreserved characters decoded (`%72` → `r`, `%2e` → `.`); every other escape kept,
 *   with upper-case hex (`%2f` → `%2F`): an encoded `/` stays inside its segment, it does not split it;
 * - dot segments removed (`/a/./b/../c` → `/a/c`), never above the root;
 * - runs of `/` collapsed to one, and a trailing `/` dropped (but `/` itself stays);
 * - under /api, lower case: every API route is lower case and ids are digits, so case carries no meaning
 *   there (file names outside /api keep their case).
 *
 * The app rewrites `req.url` to this form first thing, and routes strictly and case-sensitively, so the
 * routers answer exactly the canonical spelling and nothing else.
 */
import type { RequestHandler } from 'express';

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** `%xx` escapes of unreserved characters decoded, the others kept with upper-case hex digits. */
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** The canonical spelling of a request path (no query string). */
export function canonicalPath(rawPath: string): string {
  const decoded = decodeUnreserved(rawPath);
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue; // empty: duplicate or trailing slash
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const path = `/${segments.join('/')}`;
  if (path !== '/api' && !path.toLowerCase().startsWith('/api/')) return path;
  return path.toLowerCase().replace(/%[0-9a-f]{2}/g, (escape) => escape.toUpperCase());
}

/** Rewrites `req.url` to the canonical path (the query string kept as sent); see the module comment. */
export const canonicalizePath: RequestHandler = (req, _res, next) => {
  // The absolute form a proxy may send (`POST http://host/api/… HTTP/1.1`): its path is what counts. The
  // router keeps the scheme and host in front of req.url, so they stay.
  const protoHost = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(req.url)?.[0] ?? '';
  const url = req.url.slice(protoHost.length);
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  req.url = protoHost + canonicalPath(rawPath) + (queryAt < 0 ? '' : url.slice(queryAt));
  next();
};
