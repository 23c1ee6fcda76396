import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { TerminalError } from '../../core/errors';
import type { ApiKey, Principal, Role } from '../api/app/app-types';
import type { Db } from './db';
import { clampPageSize, decodeTimeCursor, encodeTimeCursor, pageTsSql } from './row-mappers/page-cursor';
import { rowToApiKey, type ApiKeyRow } from './row-mappers/api-key-row';

/**
 * Key format: `hk_<key id, 32 hex>_<secret, 32 random bytes base64url>`. The id part lets
 * authentication find the row by primary key; only SHA-256(secret) is stored. The secret is 256
 * bits of CSPRNG output, so a fast hash is enough (no password-stretching needed).
 */
const KEY_PATTERN = /^hk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
const SECRET_BYTES = 32;
/** Operator-chosen bootstrap keys (any format) must at least be this long. */
export const MIN_FOREIGN_KEY_LENGTH = 24;
const MAX_FOREIGN_KEY_LENGTH = 512;

export interface ParsedApiKey {
  id: string;
  secretHash: Buffer;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function hexToUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Splits a bearer string into (row id, hash of its secret), or null if it cannot be a key.
 * Herald's own keys carry their id; an operator-chosen HERALD_BOOTSTRAP_ADMIN_KEY in any other
 * format gets an id derived from a (different) hash of the whole string, so it still costs
 * one primary-key lookup and never a scan.
 */
export function parseApiKey(bearer: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(bearer);
  if (match) return { id: hexToUuid(match[1]), secretHash: sha256(match[2]) };
  if (bearer.length < MIN_FOREIGN_KEY_LENGTH || bearer.length > MAX_FOREIGN_KEY_LENGTH || /\s/.test(bearer)) return null;
  const idHash = createHash('sha256').update('herald-key-id\0').update(bearer, 'utf8').digest('hex');
  return { id: hexToUuid(idHash.slice(0, 32)), secretHash: sha256(bearer) };
}

/** A new random key: the bearer string (shown once) and what gets stored. */
export function generateApiKey(): { bearer: string; parsed: ParsedApiKey } {
  const id = randomUUID();
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const bearer = `hk_${id.replaceAll('-', '')}_${secret}`;
  return { bearer, parsed: { id, secretHash: sha256(secret) } };
}

export async function createApiKey(db: Db, role: Role, description: string): Promise<{ key: ApiKey; secret: string }> {
  const { bearer, parsed } = generateApiKey();
  const [row] = (await db('api_keys')
    .insert({ id: parsed.id, role, description, secret_hash: parsed.secretHash, created_at: new Date() })
    .returning('*')) as ApiKeyRow[];
  return { key: rowToApiKey(row), secret: bearer };
}

/** Oldest first, keyset-paged; revoked keys included (they show their revoked_at). */
export async function listApiKeys(db: Db, request: { pageSize: number; pageToken: string }): Promise<{ items: ApiKey[]; nextPageToken: string }> {
  const cursor = decodeTimeCursor(request.pageToken);
  const size = clampPageSize(request.pageSize);
  const query = db('api_keys')
    .select('*', db.raw(pageTsSql()))
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(size + 1);
  if (cursor) query.whereRaw('(created_at, id) > (?::timestamptz, ?::uuid)', [cursor.ts, cursor.id]);
  const rows = (await query) as Array<ApiKeyRow & { page_ts: string }>;
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    items: page.map(rowToApiKey),
    nextPageToken: rows.length > size && last ? encodeTimeCursor({ ts: last.page_ts, id: last.id }) : '',
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Revocation is a committed row change and authentication reads the row every time, so it bites at once. */
export async function revokeApiKey(db: Db, id: string): Promise<ApiKey> {
  if (!UUID.test(id)) throw new TerminalError('NOT_FOUND', `api key ${id} not found`);
  const [row] = (await db('api_keys')
    .where({ id })
    .update({ revoked_at: db.raw('coalesce(revoked_at, now())') })
    .returning('*')) as ApiKeyRow[];
  if (!row) throw new TerminalError('NOT_FOUND', `api key ${id} not found`, { metadata: { key_id: id } });
  return rowToApiKey(row);
}

/** Rows for many key ids in one query (the authentication batcher's round trip). */
export async function findApiKeys(db: Db, ids: string[]): Promise<Map<string, ApiKeyRow>> {
  if (ids.length === 0) return new Map();
  const rows = (await db('api_keys').whereIn('id', [...new Set(ids)])) as ApiKeyRow[];
  return new Map(rows.map((row) => [row.id, row]));
}

/** Constant-time check of a parsed key against its row; a revoked key never matches. */
export function verifyApiKey(row: ApiKeyRow | undefined, parsed: ParsedApiKey): Principal | null {
  if (!row) return null;
  const stored = Buffer.from(row.secret_hash);
  const matches = stored.length === parsed.secretHash.length && timingSafeEqual(stored, parsed.secretHash);
  if (!matches || row.revoked_at !== null) return null;
  return { keyId: row.id, role: row.role as Role };
}

export async function authenticateApiKey(db: Db, bearer: string): Promise<Principal | null> {
  const parsed = parseApiKey(bearer);
  if (!parsed) return null;
  return verifyApiKey((await findApiKeys(db, [parsed.id])).get(parsed.id), parsed);
}

/** Best-effort usage stamp; callers throttle it, it is not on the auth path. */
export async function touchApiKeys(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db('api_keys').whereIn('id', ids).update({ last_used_at: db.fn.now() });
}

/**
 * Makes sure a systemAdmin key with exactly this bearer string exists (HERALD_BOOTSTRAP_ADMIN_KEY).
 * Idempotent. A revoked bootstrap key stays revoked: an operator's revocation outranks a restart.
 */
export async function ensureBootstrapKey(db: Db, bearer: string): Promise<void> {
  const parsed = parseApiKey(bearer);
  if (!parsed) {
    throw new TerminalError(
      'INVALID_ARGUMENT',
      `the bootstrap admin key must be a Herald key (hk_…) or at least ${MIN_FOREIGN_KEY_LENGTH} characters without spaces`,
    );
  }
  await db('api_keys')
    .insert({ id: parsed.id, role: 'systemAdmin', description: 'bootstrap admin (HERALD_BOOTSTRAP_ADMIN_KEY)', secret_hash: parsed.secretHash })
    .onConflict('id')
    .ignore();
  const row = (await findApiKeys(db, [parsed.id])).get(parsed.id);
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash), parsed.secretHash) || row.role !== 'systemAdmin') {
    throw new TerminalError('ALREADY_EXISTS', 'another key already uses the bootstrap key id');
  }
}
