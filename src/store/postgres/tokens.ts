/**
 * API tokens in PostgreSQL, with TokenStore's rules (../tokenStore.ts: only the SHA-256 stored, verified
 * in constant time against every valid hash). A creation or revocation sends NOTIFY tokens.
 */
import { hashToken, matchToken, newToken, tokenName, toInfo, type TokenRow } from '../tokenStore.js';
import type { TokenRepository } from '../store.js';
import { CHANNEL } from './channel.js';
import type { Pool } from './pool.js';

export function postgresTokens(pool: Pool): TokenRepository {
  return {
    async create(name) {
      const trimmed = tokenName(name);
      const { token, prefix } = newToken();
      const createdAt = Date.now();
      const { rows } = await pool.query<{ id: number }>(
        'INSERT INTO api_tokens (name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
        [trimmed, hashToken(token), prefix, createdAt],
      );
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, 'tokens']);
      return { id: rows[0].id, name: trimmed, prefix, createdAt, revokedAt: null, token };
    },
    async list() {
      return (await pool.query<TokenRow>('SELECT id, name, prefix, created_at, revoked_at FROM api_tokens ORDER BY id')).rows.map(toInfo);
    },
    async revoke(id) {
      await pool.query('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [Date.now(), id]);
      const { rows } = await pool.query<TokenRow>('SELECT id, name, prefix, created_at, revoked_at FROM api_tokens WHERE id = $1', [id]);
      if (rows.length === 0) throw new RangeError(`no API token with id ${id} (npm run token -- list shows them)`);
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, 'tokens']);
      return toInfo(rows[0]);
    },
    async verify(presented) {
      const { rows } = await pool.query<{ id: number; token_hash: Buffer }>(
        'SELECT id, token_hash FROM api_tokens WHERE revoked_at IS NULL',
      );
      return matchToken(presented, rows);
    },
  };
}
