import { HeraldError } from '../../../core/errors';
import type { WorkflowDefinition } from '../../../core/workflow/model';
import type { WorkflowApp } from '../../api/app/app-types';
import { WorkflowServiceService } from '../gen/herald/v1/workflow_service';
import type { Workflow as ProtoWorkflow } from '../gen/herald/v1/workflow';
import type { ServiceHandlers } from '../edge/bind-service';
import { pageRequestFromProto, prefixViolations, structFromProto, Violations } from '../convert/common';
import { recipientFromProto } from '../convert/trigger';
import { definitionFromProto, nodePreviewToProto, violationToProto, workflowToProto } from '../convert/workflow';

/**
 * The request's workflow as a domain definition. When the wire form itself is broken, fails
 * with those problems plus everything core's validator finds, so the client sees every one.
 */
function requireDefinition(app: WorkflowApp, workflow: ProtoWorkflow | undefined, violations: Violations): WorkflowDefinition | undefined {
  if (!violations.require('workflow', workflow) || !workflow) return undefined;
  const converted = definitionFromProto(workflow);
  if (converted.violations.length > 0) {
    for (const v of [...converted.violations, ...app.validate(converted.definition)]) violations.add(`workflow.${v.path}`, v.reason, v.message);
  }
  return converted.definition;
}

/** App errors about the definition name its fields relative to the workflow; the request nests it. */
async function inWorkflowField<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw prefixViolations(error, 'workflow');
  }
}

export function workflowHandlers(app: WorkflowApp): ServiceHandlers<typeof WorkflowServiceService> {
  return {
    async createWorkflow(request) {
      const violations = new Violations();
      const definition = requireDefinition(app, request.workflow, violations);
      violations.throwIfAny('invalid workflow');
      const workflow = await inWorkflowField(() => app.create(definition!));
      return { workflow: workflowToProto(workflow) };
    },

    async getWorkflow(request) {
      const violations = new Violations();
      violations.requireUuid('id', request.id);
      if (request.version < 0) violations.add('version', 'INVALID_VALUE', 'version must not be negative');
      violations.throwIfAny();
      const workflow = await app.get(request.id, request.version > 0 ? request.version : undefined);
      return { workflow: workflowToProto(workflow) };
    },

    async listWorkflows(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      violations.throwIfAny();
      const result = await app.list({ ...page, activeOnly: request.activeOnly || undefined });
      return { workflows: result.items.map(workflowToProto), nextPageToken: result.nextPageToken };
    },

    async updateWorkflow(request) {
      const violations = new Violations();
      const definition = requireDefinition(app, request.workflow, violations);
      const id = request.workflow?.id ?? '';
      if (request.workflow) violations.requireUuid('workflow.id', id);
      const etag = request.etag || request.workflow?.etag || '';
      violations.require('etag', etag);
      violations.throwIfAny('invalid workflow');
      const workflow = await inWorkflowField(() => app.update(id, definition!, etag));
      return { workflow: workflowToProto(workflow) };
    },

    async deleteWorkflow(request) {
      const violations = new Violations();
      violations.requireUuid('id', request.id);
      violations.throwIfAny();
      await app.delete(request.id, request.etag);
      return {};
    },

    async activateWorkflow(request) {
      const violations = new Violations();
      violations.requireUuid('id', request.id);
      violations.throwIfAny();
      return { workflow: workflowToProto(await app.activate(request.id, request.etag)) };
    },

    async deactivateWorkflow(request) {
      const violations = new Violations();
      violations.requireUuid('id', request.id);
      violations.throwIfAny();
      return { workflow: workflowToProto(await app.deactivate(request.id, request.etag)) };
    },

    async validateWorkflow(request) {
      if (!request.workflow) {
        throw new HeraldError('INVALID_ARGUMENT', 'workflow is required', {
          violations: [{ path: 'workflow', reason: 'MISSING_FIELD', message: 'workflow is required' }],
        });
      }
      // A dry run: problems are the answer, not an error. Paths are relative to the workflow.
      const converted = definitionFromProto(request.workflow);
      const found = [...converted.violations, ...app.validate(converted.definition)];
      return { valid: found.length === 0, violations: found.map(violationToProto) };
    },

    async previewWorkflow(request) {
      const violations = new Violations();
      const definition = requireDefinition(app, request.workflow, violations);
      violations.throwIfAny('invalid workflow');
      const recipient = recipientFromProto(request.recipient ?? { id: 'preview', email: '', phone: '', locale: '', timezone: '' });
      const previews = await inWorkflowField(() => app.preview(definition!, { payload: structFromProto(request.payload), recipient }));
      return { previews: previews.map(nodePreviewToProto) };
    },
  };
}
