import { RetryableError, TerminalError } from '../../core/errors';
import { LruCache } from '../../core/templates/lru-cache';
import type { WorkflowVersion } from '../../core/workflow/model';
import type { Db } from './db';
import { insertTriggersIfCurrent, type InsertedTrigger, type NewTriggerRow } from './trigger-store';
import { getActiveWorkflows } from './workflow-store';

export interface TriggerAcceptor {
  /**
   * Inserts one trigger per input against its workflow's active version, in input order: the
   * inserted (or already existing) trigger, or the TerminalError that refused it (NOT_FOUND,
   * WORKFLOW_INACTIVE). `toDraft` builds the row from the version the input is accepted under.
   */
  accept<T extends { workflowId: string }>(inputs: T[], toDraft: (version: WorkflowVersion, input: T) => NewTriggerRow): Promise<Array<InsertedTrigger | Error>>;
}

const MAX_CACHED_WORKFLOWS = 1_000;
/** Re-reads after a workflow changed under the insert; more means it changes faster than we insert. */
const MAX_ROUNDS = 4;

/**
 * Trigger acceptance with the active workflow versions cached in the process. A version is
 * immutable, so the cache can only be wrong about which version is current and whether the
 * workflow is still active; the INSERT itself checks both (insertTriggersIfCurrent). A hit costs
 * no round trip and a deactivation, update or delete still bites at once: the refused drafts
 * are re-read from Postgres and tried again. Refusals are never cached.
 */
export function createTriggerAcceptor(db: Db): TriggerAcceptor {
  const cache = new LruCache<string, WorkflowVersion>(MAX_CACHED_WORKFLOWS);

  async function resolveVersions(ids: string[], reread: boolean): Promise<Map<string, WorkflowVersion | TerminalError>> {
    const found = new Map<string, WorkflowVersion | TerminalError>();
    const toRead: string[] = [];
    for (const id of new Set(ids)) {
      const cached = reread ? undefined : cache.get(id);
      if (cached) found.set(id, cached);
      else toRead.push(id);
    }
    if (toRead.length === 0) return found;
    for (const [id, version] of await getActiveWorkflows(db, toRead)) {
      if (version instanceof TerminalError) cache.delete(id);
      else cache.set(id, version);
      found.set(id, version);
    }
    return found;
  }

  return {
    async accept(inputs, toDraft) {
      const results: Array<InsertedTrigger | Error> = new Array(inputs.length);
      let pending = inputs.map((_, i) => i);
      for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
        const versions = await resolveVersions(pending.map((i) => inputs[i].workflowId), round > 0);
        const drafts: NewTriggerRow[] = [];
        const draftOf: number[] = [];
        for (const i of pending) {
          const version = versions.get(inputs[i].workflowId)!;
          if (version instanceof TerminalError) results[i] = version;
          else {
            drafts.push(toDraft(version, inputs[i]));
            draftOf.push(i);
          }
        }
        const inserted = await insertTriggersIfCurrent(db, drafts);
        pending = [];
        inserted.forEach((result, j) => {
          if (result) results[draftOf[j]] = result;
          else pending.push(draftOf[j]);
        });
      }
      for (const i of pending) {
        results[i] = new RetryableError('ETAG_MISMATCH', `workflow ${inputs[i].workflowId} kept changing while the trigger was accepted; retry`, {
          metadata: { workflow_id: inputs[i].workflowId },
        });
      }
      return results;
    },
  };
}
