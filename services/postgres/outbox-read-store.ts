import type { OutboxMessage } from '../api/app/app-types';
import type { Db } from './db';
import { clampPageSize, decodeTimeCursor, encodeTimeCursor, pageTsSql } from './row-mappers/page-cursor';
import { rowToOutboxMessage, type OutboxRow } from './row-mappers/outbox-row';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The dev outbox, oldest first, keyset-paged; optionally one trigger's messages. */
export async function listOutboxMessages(
  db: Db,
  request: { pageSize: number; pageToken: string; triggerId?: string },
): Promise<{ items: OutboxMessage[]; nextPageToken: string }> {
  const cursor = decodeTimeCursor(request.pageToken);
  const size = clampPageSize(request.pageSize);
  if (request.triggerId && !UUID.test(request.triggerId)) return { items: [], nextPageToken: '' };
  const query = db('outbox_messages')
    .select('*', db.raw(pageTsSql()))
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(size + 1);
  if (request.triggerId) query.where('trigger_id', request.triggerId);
  if (cursor) query.whereRaw('(created_at, id) > (?::timestamptz, ?::uuid)', [cursor.ts, cursor.id]);
  const rows = (await query) as Array<OutboxRow & { page_ts: string }>;
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    items: page.map(rowToOutboxMessage),
    nextPageToken: rows.length > size && last ? encodeTimeCursor({ ts: last.page_ts, id: last.id }) : '',
  };
}
