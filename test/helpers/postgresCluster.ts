/**
 * A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary folder, `pg_ctl start` on
 * 127.0.0.1 and a free port, `pg_ctl stop` and the folder removed at the end. initdb and pg_ctl refuse to
 * run as root, so as root they run as the unprivileged `postgres` user the Debian package creates (through
 * runuser), in a folder that user owns.
 *
 * Binaries: on PATH, else /usr/lib/postgresql/<version>/bin (Debian puts them there, off PATH). When
 * neither has them, `findPostgresBin` throws a message saying how to install them: the PostgreSQL half of
 * the store suite must fail then, never skip silently.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH nor in /usr/lib/postgresql/*/bin: ' +
  'install them with `apt-get update && apt-get install -y postgresql` (Debian/Ubuntu; .ci/run does this), ' +
  'or put a PostgreSQL ≥ 13 bin folder on PATH';

/** The folder holding initdb and pg_ctl: on `searchPath` (PATH), else the newest under `debianRoot`. */
export function findPostgresBin(searchPath = process.env.PATH ?? '', debianRoot = '/usr/lib/postgresql'): string {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir !== '' && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => existsSync(path.join(debianRoot, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(debianRoot, versions[0], 'bin');
  }
  throw new Error(INSTALL_HINT);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres: the maintenance database, to create test databases. */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** pg_ctl stop -m fast, then start again (the fault tests). */
  stop(): void;
  start(): void;
  /** Stops the server and removes the folder. */
  destroy(): void;
}

/** initdb + pg_ctl start: a cluster trusting local connections, listening on 127.0.0.1 only. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const base = mkdtempSync(path.join(tmpdir(), 'rbm-pg-'));
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'server.log');
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chownSync(base, uid, gid);
  }
  chmodSync(base, 0o700);
  const run = (tool: string, args: string[]): void => {
    const command = asRoot ? 'runuser' : path.join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    const result = spawnSync(command, argv, { encoding: 'utf8', cwd: base });
    if (result.status !== 0) {
      throw new Error(`${tool} ${args.join(' ')} failed (status ${result.status}): ${result.stderr || result.stdout}`);
    }
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // Small and quick: fsync off (a test cluster dies with its folder); the socket in the folder itself.
  const start = (): void =>
    run('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${base} -h 127.0.0.1 -F -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ]);
  start();
  const cluster: PostgresCluster = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => run('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'fast', 'stop']),
    start,
    destroy: () => {
      try {
        run('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  return cluster;
}

let databases = 0;

/** A new, empty database on the cluster at `adminUrl`; returns its URL. */
export async function createTestDatabase(adminUrl: string, label = 'test'): Promise<string> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++databases}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
