import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { TerminalError } from '../../core/errors';
import type { Workflow, WorkflowDefinition, WorkflowVersion } from '../../core/workflow/model';
import type { Db } from './db';
import { clampPageSize, pageTsSql, decodeTimeCursor, encodeTimeCursor } from './row-mappers/page-cursor';
import {
  definitionToStored,
  rowToWorkflowVersion,
  rowsToWorkflow,
  type WorkflowRow,
  type WorkflowVersionRow,
} from './row-mappers/workflow-row';

/** A fresh etag per change: random, so it never repeats even if content does. */
function newEtag(): string {
  return randomBytes(12).toString('base64url');
}

function notFound(id: string): TerminalError {
  return new TerminalError('NOT_FOUND', `workflow ${id} not found`, { metadata: { workflow_id: id } });
}

function etagMismatch(id: string): TerminalError {
  return new TerminalError('ETAG_MISMATCH', `workflow ${id} changed since the given etag was read`, {
    metadata: { workflow_id: id },
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id cannot exist; answering NOT_FOUND keeps Postgres' uuid cast error away from clients. */
function isUuid(id: string): boolean {
  return UUID.test(id);
}

async function liveHead(db: Db, id: string, lock = false): Promise<WorkflowRow | undefined> {
  if (!isUuid(id)) return undefined;
  const query = db<WorkflowRow>('workflows').where({ id }).whereNull('deleted_at').first();
  return lock ? query.forUpdate() : query;
}

export async function createWorkflow(knex: Knex, definition: WorkflowDefinition): Promise<Workflow> {
  const id = randomUUID();
  const now = new Date();
  return knex.transaction(async (trx) => {
    const [head] = await trx<WorkflowRow>('workflows')
      .insert({
        id,
        name: definition.name,
        description: definition.description ?? '',
        current_version: 1,
        active: false,
        etag: newEtag(),
        created_at: now,
        updated_at: now,
      })
      .returning('*');
    const [version] = await trx('workflow_versions')
      .insert({ workflow_id: id, version: 1, definition: JSON.stringify(definitionToStored(definition)), created_at: now })
      .returning('*');
    return rowsToWorkflow(head, version as WorkflowVersionRow);
  });
}

/** The latest version, or the given one, of a live (not deleted) workflow. */
export async function getWorkflow(db: Db, id: string, version?: number): Promise<Workflow> {
  const head = await liveHead(db, id);
  if (!head) throw notFound(id);
  const wanted = version && version > 0 ? version : head.current_version;
  const row = await db<WorkflowVersionRow>('workflow_versions').where({ workflow_id: id, version: wanted }).first();
  if (!row) {
    throw new TerminalError('NOT_FOUND', `workflow ${id} has no version ${wanted}`, {
      metadata: { workflow_id: id, version: String(wanted) },
    });
  }
  return rowsToWorkflow(head, row);
}

export interface ListWorkflowsRequest {
  pageSize: number;
  pageToken: string;
  activeOnly?: boolean;
}

/** Oldest first, keyset-paged on (created_at, id). */
export async function listWorkflows(db: Db, request: ListWorkflowsRequest): Promise<{ items: Workflow[]; nextPageToken: string }> {
  const cursor = decodeTimeCursor(request.pageToken);
  const size = clampPageSize(request.pageSize);
  const query = db('workflows as w')
    .join('workflow_versions as v', (join) => join.on('v.workflow_id', 'w.id').andOn('v.version', 'w.current_version'))
    .whereNull('w.deleted_at')
    .select('w.*', 'v.definition', db.raw(pageTsSql('w.created_at')))
    .orderBy([{ column: 'w.created_at' }, { column: 'w.id' }])
    .limit(size + 1);
  if (request.activeOnly) query.where('w.active', true);
  if (cursor) query.whereRaw('(w.created_at, w.id) > (?::timestamptz, ?::uuid)', [cursor.ts, cursor.id]);
  const rows = (await query) as Array<WorkflowRow & { definition: WorkflowVersionRow['definition']; page_ts: string }>;
  const page = rows.slice(0, size);
  const items = page.map((row) =>
    rowsToWorkflow(row, { workflow_id: row.id, version: row.current_version, definition: row.definition, created_at: row.updated_at }),
  );
  const last = page[page.length - 1];
  return { items, nextPageToken: rows.length > size && last ? encodeTimeCursor({ ts: last.page_ts, id: last.id }) : '' };
}

/**
 * Writes version+1 under optimistic concurrency: the head moves only if its etag is still the
 * one the caller read, so of N concurrent updates from one read exactly one wins. An empty
 * etag means "unconditional" (AIP-154).
 */
export async function updateWorkflow(knex: Knex, id: string, definition: WorkflowDefinition, etag: string): Promise<Workflow> {
  if (!isUuid(id)) throw notFound(id);
  return knex.transaction(async (trx) => {
    const now = new Date();
    const update = trx<WorkflowRow>('workflows')
      .where({ id })
      .whereNull('deleted_at')
      .update({
        current_version: trx.raw('current_version + 1'),
        name: definition.name,
        description: definition.description ?? '',
        etag: newEtag(),
        updated_at: now,
      } as never)
      .returning('*');
    if (etag !== '') update.andWhere({ etag });
    const [head] = (await update) as WorkflowRow[];
    if (!head) throw await diagnoseMiss(trx, id);
    const [version] = await trx('workflow_versions')
      .insert({ workflow_id: id, version: head.current_version, definition: JSON.stringify(definitionToStored(definition)), created_at: now })
      .returning('*');
    return rowsToWorkflow(head, version as WorkflowVersionRow);
  });
}

/** Why a conditional write matched nothing: the workflow is gone, or someone changed it first. */
async function diagnoseMiss(db: Db, id: string): Promise<TerminalError> {
  return (await liveHead(db, id)) ? etagMismatch(id) : notFound(id);
}

/** Soft delete; only an inactive workflow. Versions stay, since running triggers may pin them. */
export async function deleteWorkflow(db: Db, id: string, etag: string): Promise<void> {
  if (!isUuid(id)) throw notFound(id);
  const update = db('workflows').where({ id, active: false }).whereNull('deleted_at').update({ deleted_at: new Date(), updated_at: new Date() });
  if (etag !== '') update.andWhere({ etag });
  const count = (await update) as unknown as number;
  if (count > 0) return;
  const head = await liveHead(db, id);
  if (!head) throw notFound(id);
  if (etag !== '' && head.etag !== etag) throw etagMismatch(id);
  throw new TerminalError('WORKFLOW_ACTIVE', `workflow ${id} is active; deactivate it before deleting`, {
    metadata: { workflow_id: id },
  });
}

/**
 * Flips `active`. `expectedVersion` pins the version the caller validated, so an update racing
 * an etag-less activation cannot activate a definition nobody checked. Already in the wanted
 * state: returned unchanged (same etag), so a repeated call is harmless.
 */
export async function setWorkflowActive(
  knex: Knex,
  id: string,
  etag: string,
  active: boolean,
  expectedVersion?: number,
): Promise<Workflow> {
  if (!isUuid(id)) throw notFound(id);
  return knex.transaction(async (trx) => {
    const head = await liveHead(trx, id, true);
    if (!head) throw notFound(id);
    if (etag !== '' && head.etag !== etag) throw etagMismatch(id);
    if (expectedVersion !== undefined && head.current_version !== expectedVersion) throw etagMismatch(id);
    let current = head;
    if (head.active !== active) {
      [current] = await trx<WorkflowRow>('workflows')
        .where({ id })
        .update({ active, etag: newEtag(), updated_at: new Date() })
        .returning('*');
    }
    const version = await trx<WorkflowVersionRow>('workflow_versions').where({ workflow_id: id, version: current.current_version }).first();
    return rowsToWorkflow(current, version!);
  });
}

/** One immutable version, deleted workflow or not: running triggers keep their pinned version. */
export async function getWorkflowVersion(db: Db, workflowId: string, version: number): Promise<WorkflowVersion> {
  const row = isUuid(workflowId)
    ? await db<WorkflowVersionRow>('workflow_versions').where({ workflow_id: workflowId, version }).first()
    : undefined;
  if (!row) {
    throw new TerminalError('NOT_FOUND', `workflow ${workflowId} version ${version} not found`, {
      metadata: { workflow_id: workflowId, version: String(version) },
    });
  }
  return rowToWorkflowVersion(row);
}

/**
 * The current version of each live, active workflow among `ids`, in ONE query: acceptance and
 * the scheduler's direct ingest resolve a whole batch at once. Each id maps to its version, or
 * to the TerminalError that rejects triggers for it (NOT_FOUND or WORKFLOW_INACTIVE).
 */
export async function getActiveWorkflows(db: Db, ids: string[]): Promise<Map<string, WorkflowVersion | TerminalError>> {
  const distinct = [...new Set(ids)];
  const valid = distinct.filter(isUuid);
  const rows = valid.length === 0
    ? []
    : ((await db('workflows as w')
        .join('workflow_versions as v', (join) => join.on('v.workflow_id', 'w.id').andOn('v.version', 'w.current_version'))
        .whereIn('w.id', valid)
        .whereNull('w.deleted_at')
        .select('w.id', 'w.active', 'v.version', 'v.definition', 'v.workflow_id', 'v.created_at')) as Array<
        WorkflowVersionRow & { id: string; active: boolean }
      >);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const result = new Map<string, WorkflowVersion | TerminalError>();
  for (const id of distinct) {
    const row = byId.get(id);
    if (!row) result.set(id, notFound(id));
    else if (!row.active) {
      result.set(id, new TerminalError('WORKFLOW_INACTIVE', `workflow ${id} is not active`, { metadata: { workflow_id: id } }));
    } else result.set(id, rowToWorkflowVersion(row));
  }
  return result;
}

/** The active workflow's current version, or NOT_FOUND / WORKFLOW_INACTIVE. */
export async function getActiveWorkflow(db: Db, workflowId: string): Promise<WorkflowVersion> {
  const found = (await getActiveWorkflows(db, [workflowId])).get(workflowId)!;
  if (found instanceof TerminalError) throw found;
  return found;
}
