import type { Knex } from 'knex';
import { HeraldError, TerminalError, type Violation } from '../../../core/errors';
import { resolveDelay } from '../../../core/delay/resolve-delay';
import { renderEmail, renderSms } from '../../../core/templates/render-message';
import type { ExecutionContext, Recipient } from '../../../core/trigger/model';
import type { WorkflowDefinition, WorkflowNode } from '../../../core/workflow/model';
import { validateWorkflow, type WorkflowLimits } from '../../../core/workflow/validate-workflow';
import { withDbErrors } from '../../postgres/pg-errors';
import {
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  setWorkflowActive,
  updateWorkflow,
} from '../../postgres/workflow-store';
import type { NodePreview, WorkflowApp } from './app-types';

export interface WorkflowAppDeps {
  knex: Knex;
  limits?: Partial<WorkflowLimits>;
  now?: () => Date;
}

/** The wire (snake_case) name of each rendered email field, as violation paths use them. */
const EMAIL_FIELD_PATH: Record<string, string> = {
  to: 'to',
  subject: 'subject',
  from: 'from',
  reply_to: 'reply_to',
  text: 'text',
  html: 'html',
};

export function createWorkflowApp(deps: WorkflowAppDeps): WorkflowApp {
  const { knex, limits = {} } = deps;
  const now = deps.now ?? (() => new Date());

  /** Create and update store only valid definitions, so ValidateWorkflow is their exact dry run. */
  function requireValid(definition: WorkflowDefinition): void {
    const violations = validateWorkflow(definition, limits);
    if (violations.length > 0) {
      throw new TerminalError('INVALID_ARGUMENT', `the workflow has ${violations.length} violation(s)`, { violations });
    }
  }

  return {
    async create(definition) {
      requireValid(definition);
      return withDbErrors(() => createWorkflow(knex, definition));
    },

    get: (id, version) => withDbErrors(() => getWorkflow(knex, id, version)),

    list: (request) => withDbErrors(() => listWorkflows(knex, request)),

    async update(id, definition, etag) {
      requireValid(definition);
      return withDbErrors(() => updateWorkflow(knex, id, definition, etag));
    },

    delete: (id, etag) => withDbErrors(() => deleteWorkflow(knex, id, etag)),

    async activate(id, etag) {
      const current = await withDbErrors(() => getWorkflow(knex, id));
      if (etag !== '' && current.etag !== etag) {
        throw new TerminalError('ETAG_MISMATCH', `workflow ${id} changed since the given etag was read`, { metadata: { workflow_id: id } });
      }
      // Re-checked here, not only at write time: limits may have tightened since it was stored.
      const violations = validateWorkflow(current, limits);
      if (violations.length > 0) {
        throw new TerminalError('WORKFLOW_INVALID', `workflow ${id} version ${current.version} is not valid`, {
          violations,
          metadata: { workflow_id: id },
        });
      }
      return withDbErrors(() => setWorkflowActive(knex, id, etag, true, current.version));
    },

    deactivate: (id, etag) => withDbErrors(() => setWorkflowActive(knex, id, etag, false)),

    validate: (definition) => validateWorkflow(definition, limits),

    async preview(definition, sample) {
      const at = now();
      const ctx = previewContext(sample.payload ?? {}, sample.recipient, at);
      const structural = validateWorkflow(definition, limits);
      const nodes = Array.isArray(definition?.nodes) ? definition.nodes : [];
      return nodes.map((node, i) => previewNode(definition, node, i, ctx, at, limits.maxDelayMs, structural));
    },
  };
}

function previewContext(payload: Record<string, unknown>, recipient: Recipient, at: Date): ExecutionContext {
  return {
    payload,
    recipient: recipient ?? { id: '' },
    trigger: { id: '00000000-0000-0000-0000-000000000000', idempotency_key: 'preview', created_at: at.toISOString() },
    workflow: { id: '00000000-0000-0000-0000-000000000000', version: 0 },
    steps: {},
  };
}

/** One node's rendering against the sample, with that node's validation and render problems. */
function previewNode(
  definition: WorkflowDefinition,
  node: WorkflowNode,
  index: number,
  ctx: ExecutionContext,
  at: Date,
  maxDelayMs: number | undefined,
  structural: Violation[],
): NodePreview {
  const prefix = `nodes[${index}]`;
  const violations = structural.filter((v) => v.path === prefix || v.path.startsWith(`${prefix}.`));
  const type = node?.type;
  const preview: NodePreview = { nodeId: node?.id ?? '', type: type === 'SMS' || type === 'DELAY' ? type : 'EMAIL', rendered: {}, violations };
  // A node too malformed to render is already described by its validation violations.
  if (!node || typeof node !== 'object') return preview;
  try {
    if (node.type === 'EMAIL') {
      const email = renderEmail(node, ctx, { from: definition.defaultFrom, replyTo: definition.defaultReplyTo }, { now: at });
      preview.rendered = dropEmpty({ to: email.to, subject: email.subject, from: email.from, reply_to: email.replyTo, text: email.text, html: email.html });
    } else if (node.type === 'SMS') {
      const sms = renderSms(node, ctx, { now: at });
      preview.rendered = { to: sms.to, body: sms.body };
    } else if (node.type === 'DELAY') {
      preview.rendered = { wake_at: resolveDelay(node.delay, ctx, at, maxDelayMs).toISOString() };
    }
  } catch (error) {
    if (!(error instanceof HeraldError)) {
      // A shape the renderer cannot walk (e.g. an EMAIL node without email): validation said why.
      if (violations.length > 0) return preview;
      throw error;
    }
    const path = renderPath(prefix, node, error);
    // A template that does not parse is already reported by validation under the same path.
    if (!violations.some((v) => v.path === path && v.reason === error.reason)) {
      violations.push({ path, reason: error.reason, message: error.message });
    }
  }
  return preview;
}

function renderPath(prefix: string, node: WorkflowNode, error: HeraldError): string {
  const field = error.metadata.field;
  if (node.type === 'EMAIL' && field && EMAIL_FIELD_PATH[field]) return `${prefix}.email.${EMAIL_FIELD_PATH[field]}`;
  if (node.type === 'SMS' && (field === 'to' || field === 'body')) return `${prefix}.sms.${field}`;
  if (node.type === 'DELAY') {
    if (node.delay?.until) return `${prefix}.delay.until`;
    if (node.delay?.duration) return `${prefix}.delay.duration`;
    if (node.delay?.delayMs !== undefined) return `${prefix}.delay.delay_ms`;
    return `${prefix}.delay`;
  }
  return prefix;
}

function dropEmpty(fields: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
