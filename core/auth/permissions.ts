import type { Role } from './roles';

/**
 * What a caller may do. Each RPC maps to exactly one action; the matrix below is DESIGN.md's
 * role table as data, so the api enforces and the tests check the same thing.
 */
export const ACTIONS = [
  'workflow.manage', // create/update/delete, validate, preview, activate/deactivate
  'workflow.read', // get/list workflows
  'trigger.write', // create/cancel/retry triggers
  'trigger.read', // trigger status, list, watch
  'log.read', // execution logs
  'admin.manage', // principals, roles, API keys
  'cluster.read', // scheduler membership and partition ownership, for operators of Herald itself
  'worker.report', // worker-facing RPCs (scheduler identity, membership)
] as const;

export type Action = (typeof ACTIONS)[number];

/**
 * Trigger operators get no workflow access at all (DESIGN.md's table gives them none); they
 * address workflows by id. Log reading is granted to managers because the role text says so.
 * workerService is a machine identity and gets nothing a human role has.
 */
export const PERMISSIONS: Readonly<Record<Role, readonly Action[]>> = Object.freeze({
  workflowManager: Object.freeze(['workflow.manage', 'workflow.read', 'log.read'] as const),
  triggerOperator: Object.freeze(['trigger.write', 'trigger.read', 'log.read'] as const),
  systemAdmin: Object.freeze(ACTIONS.filter((action) => action !== 'worker.report')),
  workerService: Object.freeze(['worker.report'] as const),
});

export function authorize(role: Role, action: Action): boolean {
  // Own-property lookup so that an unexpected role string can never reach Object.prototype.
  if (!Object.prototype.hasOwnProperty.call(PERMISSIONS, role)) return false;
  return PERMISSIONS[role].includes(action);
}

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}
