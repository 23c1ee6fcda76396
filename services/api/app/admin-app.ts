import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { TerminalError } from '../../../core/errors';
import { isRole } from '../../../core/auth/roles';
import {
  createApiKey,
  ensureBootstrapKey,
  findApiKeys,
  listApiKeys,
  parseApiKey,
  revokeApiKey,
  touchApiKeys,
  verifyApiKey,
  type ParsedApiKey,
} from '../../postgres/api-key-store';
import type { ApiKeyRow } from '../../postgres/row-mappers/api-key-row';
import { classifyDbError, withDbErrors } from '../../postgres/pg-errors';
import type { AdminApp, Principal } from './app-types';
import { createMicroBatcher } from './micro-batcher';

export interface AdminAppDeps {
  knex: Knex;
  logger?: Logger;
  /** How often at most a key's last_used_at is written by this process. */
  touchIntervalMs?: number;
}

export interface AdminAppService extends AdminApp {
  close(): Promise<void>;
}

const MAX_DESCRIPTION_LENGTH = 500;

/**
 * API keys. Authentication reads the key's row on EVERY call (no cache), so a revocation is
 * effective for the very next call; concurrent calls share that read through a batcher with
 * no wait window (a lone call costs one primary-key lookup, a burst costs one query).
 */
export function createAdminApp(deps: AdminAppDeps): AdminAppService {
  const { knex, logger } = deps;
  const touchIntervalMs = deps.touchIntervalMs ?? 60_000;
  const lastTouched = new Map<string, number>();

  const lookups = createMicroBatcher<string, ApiKeyRow | null>({
    maxBatch: 200,
    maxWaitMs: 0,
    maxConcurrent: 4,
    async run(ids) {
      const rows = await findApiKeys(knex, ids).catch((error: unknown) => {
        throw classifyDbError(error);
      });
      return ids.map((id) => rows.get(id) ?? null);
    },
  });

  /** last_used_at is informative only: written at most once per interval per key, off the request path. */
  function touch(keyId: string): void {
    const now = Date.now();
    if (now - (lastTouched.get(keyId) ?? 0) < touchIntervalMs) return;
    lastTouched.set(keyId, now);
    touchApiKeys(knex, [keyId]).catch((error: unknown) => logger?.debug({ err: error }, 'could not record key use'));
  }

  return {
    async createKey(role, description) {
      if (!isRole(role)) {
        throw new TerminalError('INVALID_ARGUMENT', 'unknown role', {
          violations: [{ path: 'role', reason: 'INVALID_VALUE', message: 'role must be one of workflowManager, triggerOperator, systemAdmin, workerService' }],
        });
      }
      if (description.length > MAX_DESCRIPTION_LENGTH) {
        throw new TerminalError('INVALID_ARGUMENT', 'description is too long', {
          violations: [{ path: 'description', reason: 'INVALID_VALUE', message: `at most ${MAX_DESCRIPTION_LENGTH} characters` }],
        });
      }
      return withDbErrors(() => createApiKey(knex, role, description));
    },

    listKeys: (request) => withDbErrors(() => listApiKeys(knex, request)),

    revokeKey: (id) => withDbErrors(() => revokeApiKey(knex, id)),

    async authenticate(bearerSecret: string): Promise<Principal | null> {
      const parsed: ParsedApiKey | null = parseApiKey(bearerSecret);
      if (!parsed) return null;
      const row = await lookups.submit(parsed.id);
      const principal = verifyApiKey(row ?? undefined, parsed);
      if (principal) touch(principal.keyId);
      return principal;
    },

    ensureBootstrapKey: (secret) => withDbErrors(() => ensureBootstrapKey(knex, secret)),

    close: () => lookups.close(),
  };
}
