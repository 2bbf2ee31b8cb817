/**
 * `npm start -- [--db <path>] [--port <n>] [--host <addr>] [--allowed-hosts a,b] [--write-rate-limit n]
 * [--visitor-rate-limit n] [--dev]`: serves the API and the web page.
 * Environment: DB_PATH, PORT, HOST, ALLOWED_HOSTS, WRITE_RATE_LIMIT, VISITOR_RATE_LIMIT (flags win).
 * Defaults: data/recommender.db, 3000, 127.0.0.1, loopback names + the listen address, 60 and 120 a minute.
 * SIGTERM / SIGINT: stop accepting, let requests in flight finish, close the database, exit.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../src/server/app.js';
import { launch, type LaunchOptions } from '../src/server/main.js';

const USAGE = `usage: npm start -- [--db <path>] [--port <n>] [--host <address>] [--allowed-hosts <name,name>]
                  [--write-rate-limit <n>] [--visitor-rate-limit <n>] [--dev]
  --allowed-hosts       Host header names answered besides localhost, 127.0.0.1, ::1 and --host (ALLOWED_HOSTS)
  --write-rate-limit    token-protected writes per client a minute, 0 = no limit (WRITE_RATE_LIMIT, default ${DEFAULT_RATE_LIMITS.writesPerMinute})
  --visitor-rate-limit  anonymous POST /api/recommendations per client a minute (VISITOR_RATE_LIMIT, default ${DEFAULT_RATE_LIMITS.visitorPerMinute})
  --dev                 development: also serve the page's source maps`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseCommandLine(): LaunchOptions {
  let values: {
    db?: string;
    port?: string;
    host?: string;
    help?: boolean;
    dev?: boolean;
    'allowed-hosts'?: string;
    'write-rate-limit'?: string;
    'visitor-rate-limit'?: string;
  };
  try {
    ({ values } = parseArgs({
      options: {
        db: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        dev: { type: 'boolean' },
        'allowed-hosts': { type: 'string' },
        'write-rate-limit': { type: 'string' },
        'visitor-rate-limit': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`start: ${(err as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const rawPort = values.port ?? process.env.PORT ?? '3000';
  if (!/^[0-9]{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
    fail(`start: --port (or PORT) must be an integer from 0 to 65535, got "${rawPort}"`);
  }
  const perMinute = (flag: string, env: string, fallback: number): number => {
    const raw = (values as Record<string, string | undefined>)[flag] ?? process.env[env] ?? String(fallback);
    if (!/^[0-9]{1,9}$/.test(raw)) fail(`start: --${flag} (or ${env}) must be a whole number of requests a minute (0 = no limit), got "${raw}"`);
    return Number(raw);
  };
  const limits: RateLimits = {
    writesPerMinute: perMinute('write-rate-limit', 'WRITE_RATE_LIMIT', DEFAULT_RATE_LIMITS.writesPerMinute),
    visitorPerMinute: perMinute('visitor-rate-limit', 'VISITOR_RATE_LIMIT', DEFAULT_RATE_LIMITS.visitorPerMinute),
  };
  const allowedHosts = (values['allowed-hosts'] ?? process.env.ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const badHost = allowedHosts.find((h) => !/^[A-Za-z0-9.:[\]-]+$/.test(h));
  if (badHost !== undefined) fail(`start: --allowed-hosts (or ALLOWED_HOSTS) must list host names separated by commas, got "${badHost}"`);
  return {
    dbPath: values.db ?? process.env.DB_PATH ?? 'data/recommender.db',
    port: Number(rawPort),
    host: values.host ?? process.env.HOST ?? '127.0.0.1',
    allowedHosts,
    limits,
    dev: values.dev ?? false,
  };
}

const options = parseCommandLine();
const { dbPath } = options;
const server = await launch(options).catch((err: unknown) => {
  process.stderr.write(`start: could not start the server over ${dbPath}: ${(err as Error).message}\n`);
  process.exit(1);
});
// On stdout, alone on its line: the load test reads the URL from here when it asked for port 0.
process.stdout.write(`listening on ${server.url}\n`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) {
    process.stderr.write(`${signal} again: exiting without waiting\n`);
    process.exit(1);
  }
  stopping = true;
  process.stderr.write(`${signal}: finishing requests in flight, then closing the database\n`);
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
