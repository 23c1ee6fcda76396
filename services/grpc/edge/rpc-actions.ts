import type { Action } from '../../../core/auth/permissions';

/**
 * The action each herald.v1 RPC needs, checked against core's role matrix by the one auth
 * wrapper. A method missing here cannot be bound (bindService throws at start), so no RPC can
 * slip through unauthorized. Health and reflection are deliberately public and not listed.
 */
export const ACTION_OF_RPC: Readonly<Record<string, Action>> = Object.freeze({
  '/herald.v1.WorkflowService/CreateWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/GetWorkflow': 'workflow.read',
  '/herald.v1.WorkflowService/ListWorkflows': 'workflow.read',
  '/herald.v1.WorkflowService/UpdateWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/DeleteWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/ActivateWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/DeactivateWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/ValidateWorkflow': 'workflow.manage',
  '/herald.v1.WorkflowService/PreviewWorkflow': 'workflow.manage',
  '/herald.v1.TriggerService/CreateTrigger': 'trigger.write',
  '/herald.v1.TriggerService/BatchCreateTriggers': 'trigger.write',
  '/herald.v1.TriggerService/GetTrigger': 'trigger.read',
  '/herald.v1.TriggerService/ListTriggers': 'trigger.read',
  '/herald.v1.TriggerService/ListExecutionLogs': 'log.read',
  '/herald.v1.TriggerService/WatchTrigger': 'trigger.read',
  '/herald.v1.TriggerService/CancelTrigger': 'trigger.write',
  '/herald.v1.TriggerService/RetryTrigger': 'trigger.write',
  // Captured messages are delivery content, readable by whoever may read trigger status.
  '/herald.v1.TriggerService/ListOutboxMessages': 'trigger.read',
  '/herald.v1.AdminService/CreateApiKey': 'admin.manage',
  '/herald.v1.AdminService/ListApiKeys': 'admin.manage',
  '/herald.v1.AdminService/RevokeApiKey': 'admin.manage',
  '/herald.v1.ClusterService/Heartbeat': 'worker.report',
  '/herald.v1.ClusterService/ListSchedulers': 'cluster.read',
});
