/**
 * `npm start -- [--db <path>] [--port <n>] [--host <addr>]`: serves the API and the web page.
 * Environment: DB_PATH, PORT, HOST (flags win). Defaults: data/recommender.db, 3000, 127.0.0.1.
 * SIGTERM / SIGINT: stop accepting, let requests in flight finish, close the database, exit.
 */
import { launch } from '../server/main.js';
import { dbPathFrom, integerFlag, parseFlags } from './common.js';

export const START_USAGE = 'usage: npm start -- [--db <path>] [--port <n>] [--host <address>]';

export interface StartCommand {
  dbPath: string;
  port: number;
  host: string;
}

export function parseStartArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): StartCommand | 'help' {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  return {
    dbPath: dbPathFrom(values.db, env),
    port: integerFlag(values.port ?? env.PORT ?? '3000', 'port (or PORT)', 0, 65535)!,
    host: values.host ?? env.HOST ?? '127.0.0.1',
  };
}

export async function startMain(argv: string[]): Promise<void> {
  const command = parseStartArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${START_USAGE}\n`);
    return;
  }
  const { dbPath, port, host } = command;
  let server;
  try {
    server = await launch({ dbPath, port, host });
  } catch (error) {
    throw new Error(`could not start the server over ${dbPath}: ${(error as Error).message}`);
  }
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
}
