import test from 'ava';
import { ACTIONS, authorize, PERMISSIONS, ROLES, type Action, type Role } from '../../../core';

/** DESIGN.md's role table, written out independently of PERMISSIONS. */
const EXPECTED: Record<Role, Record<Action, boolean>> = {
  workflowManager: { 'workflow.manage': true, 'workflow.read': true, 'trigger.write': false, 'trigger.read': false, 'log.read': true, 'admin.manage': false, 'cluster.read': false, 'worker.report': false },
  triggerOperator: { 'workflow.manage': false, 'workflow.read': false, 'trigger.write': true, 'trigger.read': true, 'log.read': true, 'admin.manage': false, 'cluster.read': false, 'worker.report': false },
  systemAdmin: { 'workflow.manage': true, 'workflow.read': true, 'trigger.write': true, 'trigger.read': true, 'log.read': true, 'admin.manage': true, 'cluster.read': true, 'worker.report': false },
  workerService: { 'workflow.manage': false, 'workflow.read': false, 'trigger.write': false, 'trigger.read': false, 'log.read': false, 'admin.manage': false, 'cluster.read': false, 'worker.report': true },
};

test('the matrix covers exactly the four roles and eight actions', (t) => {
  t.deepEqual([...ROLES].sort(), Object.keys(EXPECTED).sort());
  t.deepEqual([...ACTIONS].sort(), Object.keys(EXPECTED.systemAdmin).sort());
  t.deepEqual(Object.keys(PERMISSIONS).sort(), [...ROLES].sort());
});

for (const role of ROLES) {
  for (const action of ACTIONS) {
    const allowed = EXPECTED[role][action];
    test(`${role} is ${allowed ? 'allowed' : 'denied'} ${action}`, (t) => {
      t.is(authorize(role, action), allowed);
    });
  }
}

test('an unknown role or a prototype key is denied everything', (t) => {
  for (const role of ['guest', '__proto__', 'constructor', 'toString']) {
    for (const action of ACTIONS) t.false(authorize(role as Role, action));
  }
});

test('the permission lists cannot be changed at run time', (t) => {
  t.throws(() => (PERMISSIONS.workerService as Action[]).push('admin.manage'));
  t.false(authorize('workerService', 'admin.manage'));
});
