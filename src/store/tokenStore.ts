/**
 * API tokens for the write endpoints. A token is 32 random bytes (256 bits) written as
 * `rbm_<base64url>`; only its SHA-256 is stored.
 *
 * Why a plain SHA-256 and not bcrypt/scrypt: slow hashes protect low-entropy secrets (passwords) from
 * guessing. A 256-bit random token cannot be guessed whatever the hash costs (2^256 candidates), and a
 * preimage of SHA-256 is out of reach, so a fast hash loses nothing and keeps every request's check cheap.
 * A leaked copy of the database still hands out no working token.
 *
 * Verification compares the presented token's hash with every valid token's hash using
 * crypto.timingSafeEqual, without stopping at the first match, so the time taken says nothing about
 * how much of a hash matched.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

export const TOKEN_PREFIX = 'rbm_';
/** Characters of the token (after rbm_) kept in clear, to recognise a token in `token list`. */
const SHOWN_CHARACTERS = 6;

export interface TokenInfo {
  id: number;
  name: string;
  /** The token's first characters, e.g. "rbm_Q3x9aZ…". */
  prefix: string;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch; null while valid. */
  revokedAt: number | null;
}

export interface CreatedToken extends TokenInfo {
  /** The token itself: shown once, never stored. */
  token: string;
}

/** A tokens table row as both engines read it (the SQLite store here, postgres/tokens.ts). */
export interface TokenRow {
  id: number;
  name: string;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** A token name as stored: trimmed, 1 to 100 characters. */
export function tokenName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 100) throw new RangeError(`a token name must be 1 to 100 characters, got ${JSON.stringify(name)}`);
  return trimmed;
}

/** A new random token and the prefix shown in lists. */
export function newToken(): { token: string; prefix: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, prefix: `${token.slice(0, TOKEN_PREFIX.length + SHOWN_CHARACTERS)}…` };
}

/** The id of the row whose hash is `presented`'s, comparing with every row (no early exit), or null. */
export function matchToken(presented: string, rows: Iterable<{ id: number; token_hash: Buffer }>): number | null {
  const hash = hashToken(presented);
  let match: number | null = null;
  for (const row of rows) {
    if (row.token_hash.length === hash.length && timingSafeEqual(row.token_hash, hash)) match = row.id;
  }
  return match;
}

export class TokenStore {
  private readonly insert: Statement<[string, Buffer, string, number]>;
  private readonly selectAll: Statement<[], TokenRow>;
  private readonly selectValidHashes: Statement<[], { id: number; token_hash: Buffer }>;
  private readonly revokeById: Statement<[number, number]>;
  private readonly selectById: Statement<[number], TokenRow>;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO api_tokens (name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?)');
    this.selectAll = db.prepare('SELECT id, name, prefix, created_at, revoked_at FROM api_tokens ORDER BY id');
    this.selectValidHashes = db.prepare('SELECT id, token_hash FROM api_tokens WHERE revoked_at IS NULL');
    this.revokeById = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.selectById = db.prepare('SELECT id, name, prefix, created_at, revoked_at FROM api_tokens WHERE id = ?');
  }

  /** A new token named `name` (who or what it is for). The returned `token` is the only copy. */
  create(name: string): CreatedToken {
    const trimmed = tokenName(name);
    const { token, prefix } = newToken();
    const createdAt = Date.now();
    const id = Number(this.insert.run(trimmed, hashToken(token), prefix, createdAt).lastInsertRowid);
    return { id, name: trimmed, prefix, createdAt, revokedAt: null, token };
  }

  list(): TokenInfo[] {
    return this.selectAll.all().map(toInfo);
  }

  /**
   * Revokes token `id`: it stops working at the server's next request. Returns the token; throws a
   * RangeError for an id that does not exist, and returns it unchanged when it was already revoked.
   */
  revoke(id: number): TokenInfo {
    this.revokeById.run(Date.now(), id);
    const row = this.selectById.get(id);
    if (!row) throw new RangeError(`no API token with id ${id} (npm run token -- list shows them)`);
    return toInfo(row);
  }

  /** The id of the valid token equal to `presented`, or null. Constant time in the presented token. */
  verify(presented: string): number | null {
    return matchToken(presented, this.selectValidHashes.iterate());
  }
}

export function toInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
