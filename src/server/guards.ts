/**
 * Request guards that run before any route: the Host allow-list, API tokens on writes, per-client rate
 * limits, and no source maps outside development. Each answers through the one error middleware, so
 * every refusal has the `{"error":{"code","message"}}` body.
 */
import type { RequestHandler } from 'express';
import { rateLimit, type Store as RateLimitStore } from 'express-rate-limit';
import type { RateLimitCounter } from '../store/index.js';
import { ApiError } from './errors.js';

/** Names a browser on this machine uses for a server on loopback. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Lower case, no port, no brackets around an IPv6 address, no trailing dot. */
export function normalizeHostName(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end < 0 ? name.slice(1) : name.slice(1, end);
  } else if (name.split(':').length === 2) {
    name = name.slice(0, name.indexOf(':')); // "name:port"; a bare IPv6 address has more colons
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * The hosts allowed by default for a server listening on `listenAddress`: the loopback names, plus the
 * address itself unless it is a wildcard (0.0.0.0, ::), which no client writes in a Host header.
 */
export function defaultAllowedHosts(listenAddress: string): string[] {
  const hosts = new Set(LOOPBACK_HOSTS);
  const own = normalizeHostName(listenAddress);
  if (own !== '' && own !== '0.0.0.0' && own !== '::') hosts.add(own);
  return [...hosts];
}

/**
 * Refuses requests whose Host header is not allowed (421 Misdirected Request). Without it, a web page on
 * attacker.example whose DNS name is re-bound to 127.0.0.1 could read and write this API from the
 * visitor's browser: same origin as far as the browser knows, but the Host header still says
 * attacker.example.
 */
export function hostAllowList(allowed: readonly string[]): RequestHandler {
  const names = new Set(allowed.map(normalizeHostName));
  const shown = [...names].join(', ');
  return (req, _res, next) => {
    const host = req.headers.host;
    if (host !== undefined && names.has(normalizeHostName(host))) {
      next();
      return;
    }
    const got = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
    next(
      new ApiError(
        421,
        'misdirected_request',
        `this server does not answer to ${got}: allowed host names are ${shown} (start it with --allowed-hosts to add names)`,
      ),
    );
  };
}

/** What the token check needs from the store (TokenStore, or any engine's TokenRepository). */
export interface TokenVerifier {
  /** The id of the valid token equal to `token`, or null (a Promise of it for a database server). */
  verify(token: string): number | null | Promise<number | null>;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;
const HOW_TO_GET_ONE = 'create one with npm run token -- create --name <text>';

/** 401 unless the request carries `Authorization: Bearer <token>` with a valid (not revoked) token. */
export function requireToken(tokens: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') {
      next(
        new ApiError(
          401,
          'unauthorized',
          `${req.method} ${req.originalUrl.split('?')[0]} changes data and needs an API token: send Authorization: Bearer <token> (${HOW_TO_GET_ONE})`,
          {
            'WWW-Authenticate': 'Bearer realm="rbm-recommender"',
          },
        ),
      );
      return;
    }
    const match = BEARER.exec(header);
    if (!match) {
      next(
        new ApiError(401, 'invalid_token', `the Authorization header must be "Bearer <token>" (${HOW_TO_GET_ONE})`, {
          'WWW-Authenticate': 'Bearer realm="rbm-recommender", error="invalid_request"',
        }),
      );
      return;
    }
    const accept = (tokenId: number | null): void => {
      if (tokenId === null) {
        next(
          new ApiError(401, 'invalid_token', `the API token is unknown or revoked (${HOW_TO_GET_ONE})`, {
            'WWW-Authenticate': 'Bearer realm="rbm-recommender", error="invalid_token"',
          }),
        );
        return;
      }
      res.locals.tokenId = tokenId;
      next();
    };
    // A database server answers asynchronously; its errors (unreachable: 503) go to the error handler.
    const verified = tokens.verify(match[1]);
    if (verified instanceof Promise) verified.then(accept, next);
    else accept(verified);
  };
}

/**
 * express-rate-limit's store over the database's counters (Store.rateLimits): every server process using
 * the database (replicas on several machines) counts into the same rows, so a client has one budget
 * however a load balancer spreads its requests. Keys are prefixed by the limit's name.
 */
export class SharedRateLimitStore implements RateLimitStore {
  private windowMs = 60_000;
  readonly localKeys = false;
  readonly prefix: string;

  constructor(
    private readonly counter: RateLimitCounter,
    what: string,
  ) {
    this.prefix = `${what}:`;
  }

  init(options: { windowMs: number }): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<{ totalHits: number; resetTime: Date }> {
    const { hits, resetAt } = await this.counter.hit(this.prefix + key, this.windowMs);
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await this.counter.takeBack(this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await this.counter.reset(this.prefix + key);
  }
}

/**
 * At most `perMinute` requests a minute per client (by IP address; IPv6 clients by /56 subnet, the
 * library's default), answered 429 with Retry-After beyond. 0 disables the limit.
 */
export function perClientRateLimit(what: string, perMinute: number, shared?: RateLimitCounter): RequestHandler {
  if (!Number.isSafeInteger(perMinute) || perMinute < 0)
    throw new RangeError(`${what} rate limit must be a whole number ≥ 0 per minute, got ${perMinute}`);
  if (perMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    ...(shared ? { store: new SharedRateLimitStore(shared, what), passOnStoreError: false } : {}),
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('Retry-After');
      next(
        new ApiError(
          429,
          'rate_limited',
          `more than ${perMinute} ${what} requests a minute from this client; try again in ${String(retryAfter ?? 60)} s`,
        ),
      );
    },
  });
}

/**
 * 404 for *.map: a source map publishes the original TypeScript, comments included. Served only with
 * --dev. Judged on the path as the static file server will read it (percent-decoded, `/app.js%2emap` is
 * `app.js.map`) and without regard to case (a case-insensitive file system serves `APP.JS.MAP`).
 */
export const noSourceMaps: RequestHandler = (req, _res, next) => {
  let decoded = req.path;
  try {
    decoded = decodeURIComponent(req.path);
  } catch {
    // Not decodable: the static file server refuses it too (400).
  }
  if (/\.map\/*$/i.test(decoded)) next(new ApiError(404, 'not_found', `no file ${req.path} (source maps are served only with --dev)`));
  else next();
};
