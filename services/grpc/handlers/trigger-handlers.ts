import type { Logger } from 'pino';
import { HeraldError } from '../../../core/errors';
import type { CreateTriggerInput, TriggerApp } from '../../api/app/app-types';
import {
  TriggerServiceService,
  type BatchCreateTriggersResult,
  type CreateTriggerRequest,
} from '../gen/herald/v1/trigger_service';
import type { ServiceHandlers } from '../edge/bind-service';
import { toRpcStatus } from '../edge/error-mapping';
import { pageRequestFromProto, structFromProto, Violations } from '../convert/common';
import {
  logEntryToProto,
  outboxMessageToProto,
  recipientFromProto,
  triggerStatusFromProto,
  triggerToProto,
} from '../convert/trigger';

export const MAX_BATCH_SIZE = 1000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export interface TriggerHandlerLimits {
  /** Largest payload, as JSON bytes. */
  maxPayloadBytes: number;
  /** Concurrent WatchTrigger streams in this process. */
  maxWatchers: number;
}

/** Checks one CreateTriggerRequest; `prefix` addresses its fields inside a batch. */
function createInputFromProto(request: CreateTriggerRequest, limits: TriggerHandlerLimits, prefix = ''): CreateTriggerInput {
  const violations = new Violations();
  violations.requireUuid(`${prefix}workflow_id`, request.workflowId);
  if (violations.require(`${prefix}idempotency_key`, request.idempotencyKey) && request.idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    violations.add(`${prefix}idempotency_key`, 'INVALID_VALUE', `idempotency_key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (violations.require(`${prefix}recipient`, request.recipient)) violations.require(`${prefix}recipient.id`, request.recipient?.id);
  violations.throwIfAny('invalid trigger');
  const payload = structFromProto(request.payload);
  const payloadBytes = Buffer.byteLength(JSON.stringify(payload));
  if (payloadBytes > limits.maxPayloadBytes) {
    const message = `payload is ${payloadBytes} bytes as JSON; the limit is ${limits.maxPayloadBytes}`;
    throw new HeraldError('PAYLOAD_TOO_LARGE', message, {
      violations: [{ path: `${prefix}payload`, reason: 'PAYLOAD_TOO_LARGE', message }],
      metadata: { limit_bytes: String(limits.maxPayloadBytes) },
    });
  }
  return {
    workflowId: request.workflowId,
    idempotencyKey: request.idempotencyKey,
    recipient: recipientFromProto(request.recipient!),
    payload,
  };
}

function requireId(path: string, value: string): void {
  const violations = new Violations();
  violations.requireUuid(path, value);
  violations.throwIfAny();
}

export function triggerHandlers(app: TriggerApp, limits: TriggerHandlerLimits, logger: Logger): ServiceHandlers<typeof TriggerServiceService> {
  let watchers = 0;

  return {
    async createTrigger(request) {
      const accepted = await app.create(createInputFromProto(request, limits));
      return { trigger: triggerToProto(accepted.instance), deduplicated: accepted.deduplicated };
    },

    async batchCreateTriggers(request) {
      const count = request.requests.length;
      if (count === 0 || count > MAX_BATCH_SIZE) {
        const message = `requests must hold 1 to ${MAX_BATCH_SIZE} items, not ${count}`;
        throw new HeraldError('INVALID_ARGUMENT', message, { violations: [{ path: 'requests', reason: 'INVALID_VALUE', message }] });
      }
      // Items that fail the edge's checks get their error; the rest go to the app in one batch.
      const results: BatchCreateTriggersResult[] = new Array(count);
      const valid: Array<{ index: number; input: CreateTriggerInput }> = [];
      request.requests.forEach((item, index) => {
        try {
          valid.push({ index, input: createInputFromProto(item, limits) });
        } catch (error) {
          results[index] = { result: { $case: 'error', error: toRpcStatus(error) } };
        }
      });
      const outcomes = valid.length > 0 ? await app.batchCreate(valid.map((v) => v.input)) : [];
      outcomes.forEach((outcome, position) => {
        const index = valid[position].index;
        if ('ok' in outcome) {
          const accepted = { trigger: triggerToProto(outcome.ok.instance), deduplicated: outcome.ok.deduplicated };
          results[index] = { result: { $case: 'accepted', accepted } };
        } else {
          if (!(outcome.error instanceof HeraldError) || outcome.error.reason === 'INTERNAL') {
            logger.error({ err: outcome.error, item: index }, 'batch item failed');
          }
          results[index] = { result: { $case: 'error', error: toRpcStatus(outcome.error) } };
        }
      });
      return { results };
    },

    async getTrigger(request) {
      requireId('id', request.id);
      return { trigger: triggerToProto(await app.get(request.id)) };
    },

    async listTriggers(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      violations.checkUuid('workflow_id', request.workflowId);
      const status = triggerStatusFromProto(request.status);
      if (request.status !== 0 && !status) violations.add('status', 'INVALID_VALUE', 'status is not a known trigger status');
      violations.throwIfAny();
      const result = await app.list({
        ...page,
        workflowId: request.workflowId || undefined,
        status,
        createdAfter: request.createTimeAfter,
        createdBefore: request.createTimeBefore,
      });
      return { triggers: result.items.map(triggerToProto), nextPageToken: result.nextPageToken };
    },

    async listExecutionLogs(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      if ((request.triggerId === '') === (request.workflowId === '')) {
        violations.add('trigger_id', 'CONFLICTING_FIELDS', 'set exactly one of trigger_id and workflow_id');
      }
      violations.checkUuid('trigger_id', request.triggerId);
      violations.checkUuid('workflow_id', request.workflowId);
      violations.throwIfAny();
      const result = await app.listLogs({ ...page, triggerId: request.triggerId || undefined, workflowId: request.workflowId || undefined });
      return { entries: result.items.map(logEntryToProto), nextPageToken: result.nextPageToken };
    },

    async watchTrigger(request, ctx, send) {
      requireId('trigger_id', request.triggerId);
      if (watchers >= limits.maxWatchers) {
        throw new HeraldError('RESOURCE_EXHAUSTED', `this server already has ${limits.maxWatchers} watchers; retry later`);
      }
      watchers += 1;
      try {
        for await (const entry of app.watch(request.triggerId, ctx.signal)) {
          await send({ entry: logEntryToProto(entry) });
        }
      } finally {
        watchers -= 1;
      }
    },

    async cancelTrigger(request) {
      requireId('id', request.id);
      return { trigger: triggerToProto(await app.cancel(request.id)) };
    },

    async retryTrigger(request) {
      requireId('id', request.id);
      return { trigger: triggerToProto(await app.retry(request.id)) };
    },

    async listOutboxMessages(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      violations.checkUuid('trigger_id', request.triggerId);
      violations.throwIfAny();
      const result = await app.listOutbox({ ...page, triggerId: request.triggerId || undefined });
      return { outboxMessages: result.items.map(outboxMessageToProto), nextPageToken: result.nextPageToken };
    },
  };
}
