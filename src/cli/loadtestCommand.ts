/**
 * `npm run loadtest -- [--db <path>] [--scenario bare,users,swap,visitor,closed,stall,locked] [--rate 1000]
 * [--connections 20] [--duration 30] [--visitor-rate 200] [--closed-connections 200] [--workers n]
 * [--visitor-workers n] [--seed n] [--cpu-prof <dir>]` (not part of CI: it takes minutes and measures the machine as much as the code).
 *
 * Starts the real server (`scripts/start.ts`, separate processes so the load generator does not share their
 * event loops) on 127.0.0.1 and an ephemeral port, over a temporary COPY of the database (default
 * data/recommender.db; a fresh one, seeded and trained, when that does not exist), then runs autocannon:
 *   bare    — a bare node:http server answering a fixed 1 KB JSON: the floor this generator allows here
 *   users   — GET /api/users/:id/recommendations?limit=10, random stored users, at --rate
 *   swap    — the same, starting the moment a new model version is saved (a hot swap at t = 0: the
 *             server loads it, precomputes, then swaps; the JSON says whether the swap happened)
 *   visitor — POST /api/recommendations with 10 random ratings (anonymous fold-in) at --visitor-rate
 *   closed  — users without a rate: --closed-connections send as fast as they are answered (throughput)
 *   stall   — 20 visitor POSTs of 500 ratings sent together, 10 rounds, while GET /api/health is sent one
 *             after another: health's latency while costly fold-ins are in flight (the visitor pool's purpose)
 *   locked  — another connection holds SQLite's write lock for --duration seconds while 8 clients post
 *             ratings back to back (each a 503 after the server's wait) and GET /api/health is sent every
 *             10 ms: health's latency while writes wait for a lock (the wait must not block the event loop)
 *
 * Open loop (bare, users, swap, visitor): `--rate` is the TOTAL offered rate, requests leaving at evenly
 * spaced intended times over all connections, latency measured from the intended time (openLoop.ts, which
 * says why autocannon's `overallRate` — its total, split among connections, vs `connectionRate` per
 * connection — is not used for these: it sends each connection's share of a second in a burst). Closed
 * loop (closed): autocannon without a rate.
 * Prints a table on stderr and one JSON document on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { quantile } from '../eval/metrics.js';
import type { ModelMeta } from '../model/index.js';
import { Rng } from '../rng.js';
import { CatalogStore, ModelStore, openDatabase, openPostgresStore, parseStoreTarget, redactUrl, TokenStore } from '../store/index.js';
import { migrateSqliteToPostgres } from '../store/migrateStore.js';
import { integerFlag, parseFlags, UsageError } from './common.js';
import { openLoop, type Arrivals, type OpenLoopRequest, type OpenLoopResult } from './openLoop.js';
import { spawnServer, stopProcess, urlOf, type ServerProcess } from './serverProcess.js';

export const LOADTEST_USAGE = `usage: npm run loadtest -- [--db <path>] [--scenario bare,users,swap,visitor,closed,stall,locked] [--rate <req/s>]
                          [--connections <n>] [--duration <s>] [--visitor-rate <req/s>] [--closed-connections <n>]
                          [--workers <n>] [--seed <n>] [--arrivals uniform|poisson] [--cpu-prof <dir>] [--top-lists <n>]
  --rate                total offered rate of the open-loop scenarios over all connections (default 1000)
  --connections         connections of the open-loop scenarios (default 20)
  --visitor-rate        offered rate of the visitor scenario (default 200)
  --closed-connections  connections of the closed-loop scenario (default 200)
  --workers             server processes (default: the server's default, the number of cores)
  --arrivals            open-loop send times: evenly spaced (default) or a Poisson process of the same rate
  --visitor-workers     the server's --visitor-workers (0: every visitor fold-in on the event loop)
  --cpu-prof            write the server processes' CPU profiles (node --cpu-prof) into this folder
  --top-lists           the server's --top-lists (0: no precomputed lists, every request is scored)
  --postgres <url>      an empty PostgreSQL database: the same data is moved into it and the server scenarios
                        (but locked and swap) run again over it, reported with engine "postgres"
  --trace-latency       the server logs, each second, handler times, event-loop delay and GC pauses (on stderr)`;

const SCENARIOS = ['bare', 'users', 'swap', 'visitor', 'closed', 'stall', 'locked'] as const;
type Scenario = (typeof SCENARIOS)[number];

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
  latency: { p50: number; p90: number; p99: number; max: number };
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
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadtestOptions {
  db: string;
  scenarios: Scenario[];
  rate: number;
  connections: number;
  duration: number;
  visitorRate: number;
  closedConnections: number;
  workers?: number;
  visitorWorkers?: number;
  topLists?: number;
  seed: number;
  cpuProf?: string;
  arrivals: Arrivals;
  /** An empty PostgreSQL database: the server scenarios run again over the same data moved into it. */
  postgres?: string;
  traceLatency: boolean;
}

export function parseLoadtestArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadtestOptions | 'help' {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    scenario: { type: 'string' },
    rate: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    'visitor-rate': { type: 'string' },
    'closed-connections': { type: 'string' },
    workers: { type: 'string' },
    'visitor-workers': { type: 'string' },
    'top-lists': { type: 'string' },
    seed: { type: 'string' },
    'cpu-prof': { type: 'string' },
    arrivals: { type: 'string' },
    postgres: { type: 'string' },
    'trace-latency': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const names = (values.scenario ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  const unknown = names.find((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown !== undefined) throw new UsageError(`--scenario takes a comma-separated list of ${SCENARIOS.join(', ')}; got "${unknown}"`);
  const arrivals = values.arrivals ?? 'uniform';
  if (arrivals !== 'uniform' && arrivals !== 'poisson') throw new UsageError(`--arrivals must be uniform or poisson, got "${arrivals}"`);
  return {
    arrivals,
    db: values.db ?? env.DB_PATH ?? path.join(root, 'data/recommender.db'),
    scenarios: SCENARIOS.filter((s) => names.includes(s)),
    rate: integerFlag(values.rate, 'rate', 1, 1e6) ?? 1000,
    connections: integerFlag(values.connections, 'connections', 1, 10_000) ?? 20,
    duration: integerFlag(values.duration, 'duration', 1, 3600) ?? 30,
    visitorRate: integerFlag(values['visitor-rate'], 'visitor-rate', 1, 1e6) ?? 200,
    closedConnections: integerFlag(values['closed-connections'], 'closed-connections', 1, 10_000) ?? 200,
    workers: integerFlag(values.workers, 'workers', 1, 256),
    visitorWorkers: integerFlag(values['visitor-workers'], 'visitor-workers', 0, 256),
    topLists: integerFlag(values['top-lists'], 'top-lists', 0, 10_000),
    seed: integerFlag(values.seed, 'seed', 0, 2 ** 31) ?? 42,
    cpuProf: values['cpu-prof'],
    ...(values.postgres === undefined ? {} : { postgres: postgresFlag(values.postgres) }),
    traceLatency: values['trace-latency'] ?? false,
  };
}

function postgresFlag(value: string): string {
  try {
    const target = parseStoreTarget(value, '--postgres');
    if (target.engine === 'postgres') return target.url;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  throw new UsageError(`--postgres must be a postgres:// URL of an empty database, got "${value}"`);
}

function startServer(dbPath: string, options: LoadtestOptions): ServerProcess {
  // No write limit: the locked scenario's clients post as fast as they are answered.
  const flags = ['--poll-ms', '100', '--write-rate-limit', '0'];
  if (options.workers !== undefined) flags.push('--workers', String(options.workers));
  if (options.visitorWorkers !== undefined) flags.push('--visitor-workers', String(options.visitorWorkers));
  if (options.topLists !== undefined) flags.push('--top-lists', String(options.topLists));
  if (options.traceLatency) flags.push('--trace-latency');
  const prof = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(options.cpuProf)] : [];
  return spawnServer(dbPath, flags, prof);
}

/** The floor: node:http answering a fixed 1 KB JSON body, nothing else. */
function startBareServer(): { child: ChildProcess; url: Promise<string> } {
  const source = `
    const body = JSON.stringify({ items: Array.from({ length: 10 }, (_, i) => ({ itemId: i, title: 'x'.repeat(70) })) });
    const server = require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); });
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
    process.on('SIGTERM', () => server.close(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, url: urlOf(child, 'the bare server') };
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

/** Saves the current model version again as a new version: the server then loads, precomputes and swaps. */
function saveNewVersion(dbPath: string): number {
  const db = openDatabase(dbPath);
  try {
    const models = new ModelStore<ModelMeta>(db);
    const id = models.currentId();
    if (id === null) throw new Error(`${dbPath} has no current model version to save again`);
    const version = models.load(id);
    return models.saveVersion(
      version.meta,
      version.tensors,
      version.catalogGeneration === undefined ? {} : { catalogGeneration: version.catalogGeneration },
    );
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

interface ScenarioResult {
  scenario: Scenario;
  /** The server's database engine (absent for the bare scenario). */
  engine?: 'sqlite' | 'postgres';
  connections: number;
  offeredRate: number | 'unlimited';
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** One-minute load average of the machine when the scenario started (other processes share the CPU). */
  loadAverage: number;
  /** Open-loop scenarios: p50 / p99 / max of each second of the run (openLoop's perSecond). */
  perSecond?: OpenLoopResult['perSecond'];
  /** Open-loop scenarios: the errors by code. */
  errorCodes?: Record<string, number>;
}

function started(scenario: Scenario, what: string): number {
  const loadAverage = Number(os.loadavg()[0].toFixed(2));
  process.stderr.write(`running ${scenario}: ${what} (load average ${loadAverage}) …\n`);
  return loadAverage;
}

async function measureOpen(
  scenario: Scenario,
  url: string,
  connections: number,
  rate: number,
  duration: number,
  next: () => OpenLoopRequest,
  arrivals: Arrivals,
  seed: number,
): Promise<ScenarioResult> {
  const loadAverage = started(scenario, `${rate} req/s offered (${arrivals} arrivals) over ${connections} connections for ${duration} s`);
  const r = await openLoop({ url, rate, connections, durationSeconds: duration, next, arrivals, seed });
  process.stderr.write(
    `${scenario}, p99 / max (ms) of each second: ${r.perSecond.map((s) => `${s.second}: ${s.p99Ms} / ${s.maxMs}`).join(', ')}\n`,
  );
  if (r.errors > 0) process.stderr.write(`${scenario}, errors by code: ${JSON.stringify(r.errorCodes)}\n`);
  return {
    scenario,
    connections,
    offeredRate: rate,
    seconds: r.seconds,
    requests: r.requests,
    reqPerSec: r.reqPerSec,
    p50Ms: r.p50Ms,
    p90Ms: r.p90Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    errors: r.errors,
    timeouts: 0,
    non2xx: r.non2xx,
    loadAverage,
    perSecond: r.perSecond,
    errorCodes: r.errorCodes,
  };
}

async function measureClosed(
  scenario: Scenario,
  url: string,
  connections: number,
  duration: number,
  request: AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest },
): Promise<ScenarioResult> {
  const loadAverage = started(scenario, `closed loop over ${connections} connections for ${duration} s (autocannon)`);
  const result = await autocannon({ url, connections, duration, requests: [request] });
  return {
    scenario,
    connections,
    offeredRate: 'unlimited',
    seconds: result.duration,
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    loadAverage,
  };
}

/**
 * The stall scenario: STALL_VISITORS visitor POSTs of STALL_RATINGS ratings sent together, STALL_ROUNDS
 * times; during each round GET /api/health is sent again as soon as it is answered, until every visitor is
 * answered. Reports health's latency over all rounds, and the visitors' (503s counted apart).
 */
async function measureStall(url: string, itemIds: readonly number[], levels: readonly number[], rng: Rng): Promise<Record<string, number>> {
  const loadAverage = Number(os.loadavg()[0].toFixed(2));
  process.stderr.write(
    `running stall: ${STALL_ROUNDS} rounds of ${STALL_VISITORS} visitor POSTs of ${STALL_RATINGS} ratings, health polled meanwhile (load average ${loadAverage}) …\n`,
  );
  const health: number[] = [];
  const visitors: number[] = [];
  let refused = 0;
  let failed = 0;
  for (let round = 0; round < STALL_ROUNDS; round++) {
    let pending = STALL_VISITORS;
    const posts = Array.from({ length: STALL_VISITORS }, async () => {
      const chosen = new Set<number>();
      while (chosen.size < Math.min(STALL_RATINGS, itemIds.length)) chosen.add(itemIds[rng.int(itemIds.length)]);
      const body = JSON.stringify({
        ratings: [...chosen].map((itemId) => ({ itemId, rating: levels[rng.int(levels.length)] })),
        limit: 10,
      });
      const start = performance.now();
      const response = await fetch(`${url}/api/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.arrayBuffer();
      if (response.status === 503) refused++;
      else if (!response.ok) failed++;
      else visitors.push(performance.now() - start);
      pending--;
    });
    while (pending > 0) {
      const start = performance.now();
      const response = await fetch(`${url}/api/health`);
      await response.arrayBuffer();
      health.push(performance.now() - start);
    }
    await Promise.all(posts);
  }
  health.sort((a, b) => a - b);
  visitors.sort((a, b) => a - b);
  const ms = (x: number): number => Number(x.toFixed(1));
  const result = {
    healthRequests: health.length,
    healthP50Ms: ms(quantile(health, 0.5)),
    healthP99Ms: ms(quantile(health, 0.99)),
    healthMaxMs: ms(health[health.length - 1] ?? NaN),
    visitorsAnswered: visitors.length,
    visitorP50Ms: ms(quantile(visitors, 0.5)),
    visitorMaxMs: ms(visitors[visitors.length - 1] ?? NaN),
    visitorsRefused503: refused,
    visitorErrors: failed,
    loadAverage,
  };
  process.stderr.write(`stall: ${JSON.stringify(result)}\n`);
  return result;
}

/** Clients posting ratings in the locked scenario. */
const LOCKED_WRITERS = 8;

/**
 * The locked scenario: a connection of this process holds the write lock (BEGIN IMMEDIATE) for `seconds`
 * while LOCKED_WRITERS clients post ratings one after another and GET /api/health is sent every 10 ms.
 * Reports health's latency and the writes' (all 503 while the lock is held).
 */
async function measureLocked(
  url: string,
  dbPath: string,
  userIds: readonly number[],
  itemIds: readonly number[],
  levels: readonly number[],
  seconds: number,
  rng: Rng,
): Promise<Record<string, number>> {
  const loadAverage = Number(os.loadavg()[0].toFixed(2));
  process.stderr.write(
    `running locked: the write lock held ${seconds} s, ${LOCKED_WRITERS} clients posting ratings, health every 10 ms (load average ${loadAverage}) …\n`,
  );
  const db = openDatabase(dbPath);
  const { token } = new TokenStore(db).create('loadtest locked scenario');
  const health: number[] = [];
  const writes: number[] = [];
  const statuses = new Map<number, number>();
  db.exec('BEGIN IMMEDIATE');
  try {
    const end = performance.now() + seconds * 1000;
    const writer = async (): Promise<void> => {
      while (performance.now() < end) {
        const body = JSON.stringify({ itemId: itemIds[rng.int(itemIds.length)], rating: levels[rng.int(levels.length)] });
        const start = performance.now();
        const response = await fetch(`${url}/api/users/${userIds[rng.int(userIds.length)]}/ratings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        await response.arrayBuffer();
        writes.push(performance.now() - start);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    const poll = async (): Promise<void> => {
      while (performance.now() < end) {
        const start = performance.now();
        await (await fetch(`${url}/api/health`)).arrayBuffer();
        health.push(performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await Promise.all([poll(), ...Array.from({ length: LOCKED_WRITERS }, writer)]);
  } finally {
    db.exec('ROLLBACK');
    db.close();
  }
  health.sort((a, b) => a - b);
  writes.sort((a, b) => a - b);
  const ms = (x: number): number => Number(x.toFixed(1));
  const result = {
    healthRequests: health.length,
    healthP50Ms: ms(quantile(health, 0.5)),
    healthP99Ms: ms(quantile(health, 0.99)),
    writes: writes.length,
    writes503: statuses.get(503) ?? 0,
    writeP50Ms: ms(quantile(writes, 0.5)),
    writeP99Ms: ms(quantile(writes, 0.99)),
    loadAverage,
  };
  process.stderr.write(`locked: ${JSON.stringify(result)}\n`);
  return result;
}

const STALL_ROUNDS = 10;
const STALL_VISITORS = 20;
const STALL_RATINGS = 500;

export async function loadtestMain(argv: string[]): Promise<void> {
  const options = parseLoadtestArgs(argv);
  if (options === 'help') {
    process.stdout.write(`${LOADTEST_USAGE}\n`);
    return;
  }
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'rbm-loadtest-'));
  const dbCopy = path.join(workDir, 'loadtest.db');
  let server: ChildProcess | null = null;
  let bare: ChildProcess | null = null;
  const results: ScenarioResult[] = [];
  const report: Record<string, unknown> = {
    bench: 'loadtest',
    cpus: os.availableParallelism(),
    options: { ...options, db: undefined, postgres: options.postgres === undefined ? undefined : redactUrl(options.postgres) },
  };
  try {
    if (options.scenarios.includes('bare')) {
      const started = startBareServer();
      bare = started.child;
      const url = await started.url;
      results.push(
        await measureOpen(
          'bare',
          url,
          options.connections,
          options.rate,
          options.duration,
          () => ({ method: 'GET', path: '/' }),
          options.arrivals,
          options.seed,
        ),
      );
      await stopProcess(bare);
      bare = null;
    }
    const serverScenarios = options.scenarios.filter((s) => s !== 'bare');
    if (serverScenarios.length > 0) {
      // The ids are read before the server starts when they can be (reading 25M ratings takes seconds), so
      // that the first scenario starts the moment the server listens: its first second is the server's.
      let ids: { userIds: number[]; itemIds: number[] } | null = null;
      if (existsSync(options.db)) {
        // The backup API copies a consistent snapshot even if another process is writing (WAL included).
        const source = new BetterSqlite3(options.db, { readonly: true, fileMustExist: true });
        await source.backup(dbCopy);
        source.close();
        process.stderr.write(`copied ${options.db} to ${dbCopy}\n`);
        ids = readIds(dbCopy);
      } else {
        process.stderr.write(`${options.db} does not exist: the server will seed and train a fresh database\n`);
      }
      const measure = async (target: string, engine: 'sqlite' | 'postgres', scenarios: readonly Scenario[]): Promise<void> => {
        const first = results.length;
        const started = startServer(target, options);
        server = started.child;
        const url = await started.url;
        type Health = { model: { version: number; kind: string; algorithm: string }; ratingLevels: number[]; backend: string };
        const health = await fetchJson<Health>(`${url}/api/health`);
        const { userIds, itemIds } = ids ?? readIds(dbCopy);
        report[engine === 'sqlite' ? 'server' : 'postgresServer'] = {
          model: health.model,
          backend: health.backend,
          workers: options.workers ?? 'default (cores)',
          users: userIds.length,
          items: itemIds.length,
        };
        process.stderr.write(
          `server at ${url}: model ${health.model.version} (${health.model.algorithm}), backend ${health.backend}, ${userIds.length} users, ${itemIds.length} items\n`,
        );

        const rng = new Rng(options.seed);
        const levels = health.ratingLevels;
        const userPath = (): string => `/api/users/${userIds[rng.int(userIds.length)]}/recommendations?limit=10`;
        const users = (): OpenLoopRequest => ({ method: 'GET', path: userPath() });
        const visitor = (): OpenLoopRequest => {
          const chosen = new Set<number>();
          while (chosen.size < Math.min(10, itemIds.length)) chosen.add(itemIds[rng.int(itemIds.length)]);
          const ratings = [...chosen].map((itemId) => ({ itemId, rating: levels[rng.int(levels.length)] }));
          return {
            method: 'POST',
            path: '/api/recommendations',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ratings, limit: 10 }),
          };
        };
        const closedUsers = { method: 'GET', setupRequest: (req: AutocannonRequest): AutocannonRequest => ({ ...req, path: userPath() }) };
        for (const scenario of scenarios) {
          if (scenario === 'users')
            results.push(
              await measureOpen(scenario, url, options.connections, options.rate, options.duration, users, options.arrivals, options.seed),
            );
          if (scenario === 'visitor')
            results.push(
              await measureOpen(
                scenario,
                url,
                options.connections,
                options.visitorRate,
                options.duration,
                visitor,
                options.arrivals,
                options.seed,
              ),
            );
          if (scenario === 'closed')
            results.push(await measureClosed(scenario, url, options.closedConnections, options.duration, closedUsers));
          if (scenario === 'stall') report.stall = await measureStall(url, itemIds, levels, rng);
          if (scenario === 'locked') report.locked = await measureLocked(url, dbCopy, userIds, itemIds, levels, options.duration, rng);
          if (scenario === 'swap') {
            const running = measureOpen(
              scenario,
              url,
              options.connections,
              options.rate,
              options.duration,
              users,
              options.arrivals,
              options.seed,
            );
            const version = saveNewVersion(dbCopy); // t = 0: the server sees it at its next poll
            const result = await running;
            const served = (await fetchJson<Health>(`${url}/api/health`)).model.version;
            report.swap = { savedVersion: version, servedAfter: served, swapped: served === version };
            results.push(result);
          }
        }
        for (const result of results.slice(first)) result.engine = engine;
        await stopProcess(server);
        server = null;
      };
      await measure(dbCopy, 'sqlite', serverScenarios);
      if (options.postgres !== undefined) {
        // The same catalog and model, moved into the (empty) PostgreSQL database, served by the same server.
        const target = await openPostgresStore(options.postgres);
        const sqlite = openDatabase(dbCopy);
        try {
          await migrateSqliteToPostgres(sqlite, target.pool);
        } finally {
          sqlite.close();
          await target.close();
        }
        process.stderr.write(`copied ${dbCopy} into ${redactUrl(options.postgres)}\n`);
        await measure(
          options.postgres,
          'postgres',
          serverScenarios.filter((scenario) => scenario !== 'locked' && scenario !== 'swap'),
        );
      }
    }
  } finally {
    await stopProcess(bare);
    await stopProcess(server);
    rmSync(workDir, { recursive: true, force: true });
  }
  if (results.length > 0) printTable(results.map(({ perSecond: _, errorCodes: __, ...r }) => r));
  process.stdout.write(JSON.stringify({ ...report, scenarios: results }, null, 2) + '\n');
}
