/**
 * `npm run token -- create --name <who> | list | revoke <id> [--db <path>]`: API tokens for the write
 * endpoints (docs/operations.md, "API tokens"). The token is printed once, at creation; the database keeps its hash.
 */
import { parseArgs } from 'node:util';
import { openStore, type TokenInfo } from '../store/index.js';
import { dbPathFrom, DEFAULT_DB_PATH, UsageError } from './common.js';

export const TOKEN_USAGE = `usage: npm run token -- <command> [--db <path>]
  create --name <text>  make a token (printed once: store it where the client can read it)
  list                  the tokens: id, name, first characters, created, revoked
  revoke <id>           revoke a token at once (the server checks tokens at every request)
  --db <path|url>       SQLite file or postgres://… URL (default: $DATABASE_URL, else $DB_PATH, else ${DEFAULT_DB_PATH})`;

export type TokenCommand =
  | { action: 'create'; name: string; dbPath: string }
  | { action: 'list'; dbPath: string }
  | { action: 'revoke'; id: number; dbPath: string }
  | { action: 'help' };

export function parseTokenArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): TokenCommand {
  let parsed: {
    values: { db?: string; name?: string; help?: boolean };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        db: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { action: 'help' };
  const dbPath = dbPathFrom(values.db, env);
  const [action, ...rest] = positionals;
  switch (action) {
    case 'create':
      if (rest.length > 0) throw new UsageError(`create takes no arguments besides --name, got "${rest.join(' ')}"`);
      if (values.name === undefined || values.name.trim() === '')
        throw new UsageError('create needs --name <text> (who or what the token is for)');
      return { action: 'create', name: values.name, dbPath };
    case 'list':
      if (rest.length > 0 || values.name !== undefined) throw new UsageError('list takes no arguments');
      return { action: 'list', dbPath };
    case 'revoke': {
      if (rest.length !== 1 || !/^[0-9]{1,15}$/.test(rest[0])) {
        throw new UsageError(`revoke needs one token id (a number from npm run token -- list), got "${rest.join(' ')}"`);
      }
      return { action: 'revoke', id: Number(rest[0]), dbPath };
    }
    case undefined:
      throw new UsageError('a command is required: create, list or revoke');
    default:
      throw new UsageError(`unknown command "${action}": expected create, list or revoke`);
  }
}

const when = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

function formatRow(token: TokenInfo): string {
  const state = token.revokedAt === null ? 'valid' : `revoked ${when(token.revokedAt)}`;
  return `${String(token.id).padStart(4)}  ${token.prefix.padEnd(12)}  ${when(token.createdAt)}  ${state.padEnd(33)}  ${token.name}`;
}

/** Runs the command and returns what to print on stdout. */
export async function runTokenCommand(command: Exclude<TokenCommand, { action: 'help' }>): Promise<string> {
  const store = await openStore(command.dbPath);
  try {
    const { tokens } = store;
    switch (command.action) {
      case 'create': {
        const created = await tokens.create(command.name);
        return [
          `created API token ${created.id} "${created.name}" in ${store.location}:`,
          '',
          `  ${created.token}`,
          '',
          'It is shown only now (the database keeps its hash). Send it as: Authorization: Bearer <token>',
        ].join('\n');
      }
      case 'list': {
        const all = await tokens.list();
        if (all.length === 0) return `no API tokens in ${store.location} (npm run token -- create --name <text>)`;
        return [`  id  token         created                   state                              name`, ...all.map(formatRow)].join('\n');
      }
      case 'revoke': {
        const revoked = await tokens.revoke(command.id);
        return `revoked API token ${revoked.id} "${revoked.name}" (${revoked.prefix}) at ${when(revoked.revokedAt)}`;
      }
    }
  } finally {
    await store.close();
  }
}

/** The whole command (scripts/token.ts is its shim). */
export async function tokenMain(argv: string[]): Promise<void> {
  const command = parseTokenArgs(argv);
  process.stdout.write(`${command.action === 'help' ? TOKEN_USAGE : await runTokenCommand(command)}\n`);
}
