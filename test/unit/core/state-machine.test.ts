import test from 'ava';
import { assertTransition, canTransition, TerminalError, type TriggerStatus } from '../../../core';

const STATUSES: TriggerStatus[] = ['enqueued', 'processing', 'completed', 'failed', 'cancelled'];
const LEGAL = new Set([
  'enqueued->processing',
  'processing->completed',
  'processing->failed',
  'enqueued->cancelled',
  'processing->cancelled',
  'failed->enqueued',
  // A trigger that cannot start (its workflow version is gone) still has to end.
  'enqueued->failed',
]);

for (const from of STATUSES) {
  for (const to of STATUSES) {
    const legal = LEGAL.has(`${from}->${to}`);
    test(`${from} -> ${to} is ${legal ? 'legal' : 'illegal'}`, (t) => {
      t.is(canTransition(from, to), legal);
      if (legal) t.notThrows(() => assertTransition(from, to));
      else {
        const error = t.throws(() => assertTransition(from, to), { instanceOf: TerminalError });
        t.is(error?.reason, 'ILLEGAL_TRANSITION');
      }
    });
  }
}
