/**
 * `npm start -- [--db <path>] [--port <n>] [--host <addr>] [--allowed-hosts a,b] [--write-rate-limit n]
 * [--visitor-rate-limit n] [--workers n] [--visitor-workers n] [--visitor-queue n] [--visitor-min-ratings n] [--stored-min-ratings n] [--dev]`:
 * serves the API and the web page.
 * Environment: DB_PATH, PORT, HOST, ALLOWED_HOSTS, WRITE_RATE_LIMIT, VISITOR_RATE_LIMIT (flags win).
 * Defaults: data/recommender.db, 3000, 127.0.0.1, loopback names + the listen address, 60 and 120 a minute.
 * SIGTERM / SIGINT: stop accepting, let requests in flight finish, close the database, exit (a repeated
 * signal changes nothing; see shutdown below).
 */
import os from 'node:os';
import { DEFAULT_RATE_LIMITS } from '../server/app.js';
import { runCluster } from '../server/cluster.js';
import { launch, type LaunchOptions } from '../server/main.js';
import { DEFAULT_TOP_LIST_SIZE } from '../serving/topLists.js';
import {
  DEFAULT_STORED_MIN_RATINGS,
  DEFAULT_VISITOR_MIN_RATINGS,
  DEFAULT_VISITOR_QUEUE,
  defaultVisitorWorkers,
} from '../serving/visitorPool.js';
import { dbPathFrom, integerFlag, parseFlags, UsageError } from './common.js';

export const START_USAGE = `usage: npm start -- [--db <path>] [--port <n>] [--host <address>] [--allowed-hosts <name,name>]
                   [--write-rate-limit <n>] [--visitor-rate-limit <n>] [--workers <n>] [--dev]
                   [--visitor-workers <n>] [--visitor-queue <n>] [--visitor-min-ratings <n>] [--stored-min-ratings <n>]
  --db                  a SQLite file, or postgres://user:password@host:port/database for a replica among several
                        machines sharing one PostgreSQL database (DATABASE_URL, else DB_PATH; docs/several-machines.md)
  --allowed-hosts       Host header names answered besides localhost, 127.0.0.1, ::1 and --host (ALLOWED_HOSTS)
  --write-rate-limit    token-protected writes per client a minute, 0 = no limit (WRITE_RATE_LIMIT, default ${DEFAULT_RATE_LIMITS.writesPerMinute})
  --visitor-rate-limit  anonymous POST /api/recommendations per client a minute (VISITOR_RATE_LIMIT, default ${DEFAULT_RATE_LIMITS.visitorPerMinute})
  --workers             server processes sharing the port (WORKERS, default: the number of cores); over SQLite
                        rate limits are counted per process (a client may get up to this many times a limit),
                        over PostgreSQL once for all processes and machines
  --top-lists           items precomputed per user when a model is loaded, before it serves (TOP_LISTS,
                        default ${DEFAULT_TOP_LIST_SIZE}; 0 = none: every user is scored on their first request)
  --visitor-workers     threads per server process for visitors' costly fold-ins (VISITOR_WORKERS; default 1 when
                        several processes run, else one per core but one; 0 = every visitor on the event loop)
  --visitor-queue       visitor requests waiting for a thread, per process, before the next is a 503 with
                        Retry-After (VISITOR_QUEUE, default ${DEFAULT_VISITOR_QUEUE})
  --visitor-min-ratings posted ratings from which a visitor request goes to a thread; fewer are answered inline
                        (VISITOR_MIN_RATINGS, default ${DEFAULT_VISITOR_MIN_RATINGS})
  --stored-min-ratings  a stored user's ratings from which their recommendations are computed by those threads
                        (their explanations grow with the ratings); fewer are answered inline (STORED_MIN_RATINGS,
                        default ${DEFAULT_STORED_MIN_RATINGS})
  --poll-ms             how often to look for a newly trained model version, in ms (default 2000)
  --trace-latency       log, each second, handler times, event-loop delay and GC pauses (a diagnostic)
  --dev                 development: also serve the page's source maps`;

export type StartCommand = LaunchOptions & { port: number; host: string; workers: number };

/** One server process per core (availableParallelism is 1 on a single core). */
export const defaultWorkers = (): number => Math.max(1, os.availableParallelism());

export function parseStartArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): StartCommand | 'help' {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    dev: { type: 'boolean' },
    'allowed-hosts': { type: 'string' },
    'write-rate-limit': { type: 'string' },
    'visitor-rate-limit': { type: 'string' },
    workers: { type: 'string' },
    'poll-ms': { type: 'string' },
    'top-lists': { type: 'string' },
    'visitor-workers': { type: 'string' },
    'visitor-queue': { type: 'string' },
    'visitor-min-ratings': { type: 'string' },
    'stored-min-ratings': { type: 'string' },
    'trace-latency': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const allowedHosts = (values['allowed-hosts'] ?? env.ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const badHost = allowedHosts.find((h) => !/^[A-Za-z0-9.:[\]-]+$/.test(h));
  if (badHost !== undefined)
    throw new UsageError(`--allowed-hosts (or ALLOWED_HOSTS) must list host names separated by commas, got "${badHost}"`);
  const workers = integerFlag(values.workers ?? env.WORKERS, 'workers (or WORKERS)', 1, 256) ?? defaultWorkers();
  return {
    dbPath: dbPathFrom(values.db, env),
    port: integerFlag(values.port ?? env.PORT ?? '3000', 'port (or PORT)', 0, 65535)!,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    allowedHosts,
    limits: {
      writesPerMinute:
        integerFlag(values['write-rate-limit'] ?? env.WRITE_RATE_LIMIT, 'write-rate-limit (or WRITE_RATE_LIMIT)', 0, 1e9) ??
        DEFAULT_RATE_LIMITS.writesPerMinute,
      visitorPerMinute:
        integerFlag(values['visitor-rate-limit'] ?? env.VISITOR_RATE_LIMIT, 'visitor-rate-limit (or VISITOR_RATE_LIMIT)', 0, 1e9) ??
        DEFAULT_RATE_LIMITS.visitorPerMinute,
    },
    dev: values.dev ?? false,
    workers,
    // Several server processes already share the cores: one thread each for visitors, not one per core each.
    visitorPool: {
      size:
        integerFlag(values['visitor-workers'] ?? env.VISITOR_WORKERS, 'visitor-workers (or VISITOR_WORKERS)', 0, 256) ??
        (workers > 1 ? 1 : defaultVisitorWorkers()),
      queueLimit:
        integerFlag(values['visitor-queue'] ?? env.VISITOR_QUEUE, 'visitor-queue (or VISITOR_QUEUE)', 0, 100_000) ?? DEFAULT_VISITOR_QUEUE,
      minRatings:
        integerFlag(values['visitor-min-ratings'] ?? env.VISITOR_MIN_RATINGS, 'visitor-min-ratings (or VISITOR_MIN_RATINGS)', 0, 1e9) ??
        DEFAULT_VISITOR_MIN_RATINGS,
      minStoredRatings:
        integerFlag(values['stored-min-ratings'] ?? env.STORED_MIN_RATINGS, 'stored-min-ratings (or STORED_MIN_RATINGS)', 0, 1e9) ??
        DEFAULT_STORED_MIN_RATINGS,
    },
    pollMs: integerFlag(values['poll-ms'], 'poll-ms', 1, 3_600_000),
    traceLatency: values['trace-latency'] ?? false,
    topLists: { size: integerFlag(values['top-lists'] ?? env.TOP_LISTS, 'top-lists (or TOP_LISTS)', 0, 10_000) ?? DEFAULT_TOP_LIST_SIZE },
  };
}

export async function startMain(argv: string[]): Promise<void> {
  const command = parseStartArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${START_USAGE}\n`);
    return;
  }
  const { dbPath } = command;
  if (command.workers > 1) {
    const code = await runCluster(command, {
      workers: command.workers,
      // On stdout, alone on its line: the load test reads the URL from here when it asked for port 0.
      onListening: (url) => {
        process.stderr.write(`${command.workers} worker processes listening\n`);
        process.stdout.write(`listening on ${url}\n`);
      },
    });
    process.exit(code);
  }
  let server;
  try {
    server = await launch(command);
  } catch (error) {
    throw new Error(`could not start the server over ${dbPath}: ${(error as Error).message}`);
  }
  // On stdout, alone on its line: the load test reads the URL from here when it asked for port 0.
  process.stdout.write(`listening on ${server.url}\n`);

  // A signal while draining changes nothing: a process-group kill through a launcher (tsx, npm) delivers
  // SIGTERM twice, once from the kill and once relayed, and cutting the drain on the second would drop
  // the requests in flight. The drain is bounded anyway (launch's close: 10 s, then connections are cut);
  // SIGKILL is the way to stop at once.
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`${signal} again: still finishing requests in flight (SIGKILL stops at once)\n`);
      return;
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
}
