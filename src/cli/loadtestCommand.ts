/**
 * `npm run loadtest -- [--db <path>] [--duration 30] [--connections 200] [--scenario users|visitor|all]`
 * (not part of CI: it takes a minute and measures the machine as much as the code).
 *
 * Starts the real server (`scripts/start.ts`, a separate process so the load generator does not share its
 * event loop) on 127.0.0.1 and an ephemeral port, over a temporary COPY of the database (default
 * data/recommender.db; a fresh one, seeded and trained, when that does not exist), then runs autocannon:
 *   users   — GET /api/users/:id/recommendations?limit=10 for random stored users
 *   visitor — POST /api/recommendations with 20 random ratings (anonymous fold-in)
 * `--rate` caps the offered load (autocannon's overallRate): without it the connections send as fast as the
 * server answers, so latency is queueing (≈ connections ÷ throughput) rather than service time.
 * Prints req/s, p50, p99 and errors as a table, plus one JSON line per scenario on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { Rng } from '../rng.js';
import { CatalogStore, openDatabase } from '../store/index.js';

const USAGE = 'usage: npm run loadtest -- [--db <path>] [--duration <s>] [--connections <n>] [--scenario users|visitor|all] [--seed <n>] [--rate <req/s>]';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// autocannon ships no type declarations: the slice of its API used here.
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: (AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest })[];
  overallRate?: number;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Options {
  db: string;
  duration: number;
  connections: number;
  scenarios: ('users' | 'visitor')[];
  seed: number;
  /** Offered load in requests per second over all connections; unlimited when undefined. */
  rate?: number;
}

function parseCommandLine(): Options {
  const fail = (message: string): never => {
    process.stderr.write(`loadtest: ${message}\n${USAGE}\n`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({
      options: {
        db: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        scenario: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    if (typeof raw !== 'string' || !/^[0-9]+$/.test(raw) || Number(raw) < min) fail(`--${name} must be an integer ≥ ${min}, got "${String(raw)}"`);
    return Number(raw);
  };
  const scenario = (values.scenario as string | undefined) ?? 'all';
  if (!['users', 'visitor', 'all'].includes(scenario)) fail(`--scenario must be users, visitor or all, got "${scenario}"`);
  return {
    db: (values.db as string | undefined) ?? process.env.DB_PATH ?? path.join(root, 'data/recommender.db'),
    duration: integer('duration', 30, 1),
    connections: integer('connections', 200, 1),
    scenarios: scenario === 'all' ? ['users', 'visitor'] : [scenario as 'users' | 'visitor'],
    seed: integer('seed', 42, 0),
    rate: values.rate === undefined ? undefined : integer('rate', 0, 1),
  };
}

/** Starts scripts/start.ts and resolves with its URL (the `listening on …` line on its stdout). */
function startServer(dbPath: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/start.ts'), '--db', dbPath, '--port', '0', '--host', '127.0.0.1', '--write-rate-limit', '0', '--visitor-rate-limit', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'], // the server's progress (seeding, training) shows on our stderr
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`the server exited (code ${code}) before listening`)));
    child.once('error', reject);
  });
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} → ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** User and item ids to draw requests from (users with at least one rating), read from the copy. */
function readIds(dbPath: string): { userIds: number[]; itemIds: number[] } {
  const db = openDatabase(dbPath);
  try {
    const dataset = new CatalogStore(db).loadDataset();
    const rated = new Uint8Array(dataset.userIds.length);
    for (const u of dataset.users) rated[u] = 1;
    return { userIds: dataset.userIds.filter((_, u) => rated[u] === 1), itemIds: [...dataset.itemIds] };
  } finally {
    db.close();
  }
}

function printTable(rows: Record<string, string | number>[]): void {
  const columns = Object.keys(rows[0]);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]): string => cells.map((cell, n) => cell.padStart(widths[n])).join('  ');
  process.stderr.write(`\n${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stderr.write(`${line(columns.map((c) => String(row[c])))}\n`);
}

async function main(): Promise<void> {
  const options = parseCommandLine();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'rbm-loadtest-'));
  const dbCopy = path.join(workDir, 'loadtest.db');
  let server: ChildProcess | null = null;
  try {
    if (existsSync(options.db)) {
      // The backup API copies a consistent snapshot even if another process is writing (WAL included).
      const source = new BetterSqlite3(options.db, { readonly: true, fileMustExist: true });
      await source.backup(dbCopy);
      source.close();
      process.stderr.write(`copied ${options.db} to ${dbCopy}\n`);
    } else {
      process.stderr.write(`${options.db} does not exist: the server will seed and train a fresh database\n`);
    }
    const started = await startServer(dbCopy);
    server = started.child;
    const { url } = started;
    const health = await fetchJson<{ model: { version: number; kind: string }; ratingLevels: number[]; backend: string }>(`${url}/api/health`);
    const { userIds, itemIds } = readIds(dbCopy);
    process.stderr.write(
      `server at ${url}: model ${health.model.version} (${health.model.kind}), backend ${health.backend}, ` +
        `${userIds.length} users, ${itemIds.length} items; ${options.connections} connections × ${options.duration} s per scenario\n`,
    );

    const rng = new Rng(options.seed);
    const levels = health.ratingLevels;
    const scenarios = {
      users: {
        method: 'GET',
        setupRequest: (req: AutocannonRequest): AutocannonRequest => ({
          ...req,
          path: `/api/users/${userIds[rng.int(userIds.length)]}/recommendations?limit=10`,
        }),
      },
      visitor: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: AutocannonRequest): AutocannonRequest => {
          const chosen = new Set<number>();
          while (chosen.size < Math.min(20, itemIds.length)) chosen.add(itemIds[rng.int(itemIds.length)]);
          const ratings = [...chosen].map((itemId) => ({ itemId, rating: levels[rng.int(levels.length)] }));
          return { ...req, path: '/api/recommendations', body: JSON.stringify({ ratings, limit: 10 }) };
        },
      },
    };

    const rows: Record<string, string | number>[] = [];
    for (const name of options.scenarios) {
      process.stderr.write(`running ${name} …\n`);
      const result = await autocannon({
        url,
        connections: options.connections,
        duration: options.duration,
        requests: [scenarios[name]],
        ...(options.rate ? { overallRate: options.rate } : {}),
      });
      const summary = {
        scenario: name,
        connections: options.connections,
        offeredRate: options.rate ?? 'unlimited',
        seconds: result.duration,
        requests: result.requests.total,
        reqPerSec: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
      };
      process.stdout.write(JSON.stringify({ bench: 'loadtest', ...summary, modelKind: health.model.kind, backend: health.backend }) + '\n');
      rows.push(summary);
    }
    printTable(rows);
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** `npm run loadtest`: the command (scripts/loadtest.ts is its shim). */
export const loadtestMain = main;
