/** The four principal roles of DESIGN.md. The api's Role type is this one. */
export const ROLES = ['workflowManager', 'triggerOperator', 'systemAdmin', 'workerService'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
