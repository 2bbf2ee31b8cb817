/**
 * `npm start -- [--db <path>] [--port <n>] [--host <addr>]`: serves the API and the web page.
 * Environment: DB_PATH, PORT, HOST (flags win). Defaults: data/recommender.db, 3000, 127.0.0.1.
 * SIGTERM / SIGINT: stop accepting, let requests in flight finish, close the database, exit.
 */
import { parseArgs } from 'node:util';
import { launch } from '../src/server/main.js';

const USAGE = 'usage: npm start -- [--db <path>] [--port <n>] [--host <address>]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseCommandLine(): { dbPath: string; port: number; host: string } {
  let values: { db?: string; port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        db: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
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
  return {
    dbPath: values.db ?? process.env.DB_PATH ?? 'data/recommender.db',
    port: Number(rawPort),
    host: values.host ?? process.env.HOST ?? '127.0.0.1',
  };
}

const { dbPath, port, host } = parseCommandLine();
const server = await launch({ dbPath, port, host }).catch((err: unknown) => {
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
