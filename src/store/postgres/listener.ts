/**
 * The PostgreSQL change feed: one dedicated connection (never a pooled one: LISTEN belongs to a session)
 * running LISTEN on CHANNEL, turning each NOTIFY payload into a StoreChange.
 *
 * Payloads (sent inside the writing transaction, so delivered only if and when it commits):
 *   user:<id>:<updated_at>   a rating written through the API
 *   catalog:<generation>     an import changed the catalog
 *   model:<id>               a model version saved and made current
 *   tokens                   a token created or revoked
 *
 * When the connection is lost (PostgreSQL restarted, a network cut), notifications sent meanwhile are
 * lost with it: the listener reconnects with a backoff (0.25 s doubling to 5 s) and reports `resync`, and
 * the receiver compares what it holds with the database (serving/catalogMirror.ts).
 */
import pg from 'pg';
import type { StoreChange } from '../store.js';
import { CHANNEL } from './channel.js';
import { clientConfig } from './pool.js';

export function parseChange(payload: string): StoreChange | null {
  const [kind, a, b] = payload.split(':');
  if (kind === 'user' && a !== undefined && b !== undefined) return { kind: 'user', userId: Number(a), updatedAt: Number(b) };
  if (kind === 'catalog' && a !== undefined) return { kind: 'catalog', generation: Number(a) };
  if (kind === 'model' && a !== undefined) return { kind: 'model', versionId: Number(a) };
  if (kind === 'tokens') return { kind: 'tokens' };
  return null;
}

export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | null = null;
  private connectedOnce = false;

  constructor(
    private readonly url: string,
    private readonly onChange: (change: StoreChange) => void,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Resolves once listening (or rejects if the first connection fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.url, { connectTimeoutMs: 3000 }));
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || message.payload === undefined) return;
      const change = parseChange(message.payload);
      if (change) this.onChange(change);
    });
    const lost = (why: string): void => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
      if (this.stopped) return;
      this.log(`change feed: connection to PostgreSQL lost (${why}); reconnecting`);
      this.schedule();
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection closed'));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      if (this.client === client) this.client = null;
      client.removeAllListeners('end');
      void client.end().catch(() => {});
      if (!this.connectedOnce) throw error;
      if (!this.stopped) this.schedule();
      return;
    }
    this.retryMs = 250;
    if (this.connectedOnce) {
      this.log('change feed: listening again; comparing what is held in memory with the database');
      this.onChange({ kind: 'resync' });
    }
    this.connectedOnce = true;
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(5000, this.retryMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
