import test from 'ava';
import fc from 'fast-check';
import {
  decide,
  initialTriggerState,
  resolveRetryPolicy,
  seededRandom,
  validateWorkflow,
  type Decision,
  type Edge,
  type Effect,
  type TriggerEvent,
  type TriggerState,
  type WorkflowDefinition,
  type WorkflowNode,
  type WorkflowVersion,
} from '../../../core';
import { makeDelayNode, makeEmailNode, makeSmsNode, T0 } from './core-fixtures';

const CONDITIONS = [undefined, 'true', 'false', 'payload.flag', 'payload.flag == false'] as const;

function expectedTaken(condition: string | undefined, flag: boolean): boolean {
  if (condition === undefined || condition === 'true') return true;
  if (condition === 'false') return false;
  return condition === 'payload.flag' ? flag : !flag;
}

/** Any valid DAG: node j > 0 always gets an edge from some earlier node, so all are reachable. */
const arbWorkflow = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc.record({
      types: fc.array(fc.constantFrom('EMAIL', 'SMS', 'DELAY'), { minLength: n, maxLength: n }),
      parents: fc.tuple(...Array.from({ length: n }, (_, j) => (j === 0 ? fc.constant(0) : fc.integer({ min: 0, max: j - 1 })))),
      extra: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: CONDITIONS.length - 1 })), { maxLength: 2 * n }),
      conditions: fc.array(fc.nat({ max: CONDITIONS.length - 1 }), { minLength: n, maxLength: n }),
      delays: fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: n, maxLength: n }),
      maxAttempts: fc.integer({ min: 1, max: 4 }),
    }),
  )
  .map(({ types, parents, extra, conditions, delays, maxAttempts }): WorkflowDefinition => {
    const ids = types.map((_, i) => `n${i}`);
    const nodes: WorkflowNode[] = types.map((type, i) =>
      type === 'EMAIL' ? makeEmailNode(ids[i]) : type === 'SMS' ? makeSmsNode(ids[i]) : makeDelayNode(ids[i], { delayMs: delays[i] }),
    );
    const edges: Edge[] = [];
    const seen = new Set<string>();
    const add = (from: number, to: number, c: number) => {
      const key = `${from}->${to}`;
      if (from >= to || seen.has(key)) return;
      seen.add(key);
      const condition = CONDITIONS[c];
      edges.push(condition === undefined ? { from: ids[from], to: ids[to] } : { from: ids[from], to: ids[to], condition });
    };
    for (let j = 1; j < ids.length; j++) add(parents[j], j, conditions[j]);
    for (const [a, b, c] of extra) add(a % ids.length, b % ids.length, c);
    return { name: 'generated', entryNodeId: 'n0', nodes, edges, retry: { maxAttempts, baseDelayMs: 100, maxDelayMs: 2000 } };
  });

const arbOutcome = fc.record({
  kind: fc.constantFrom('ok', 'ok', 'ok', 'retryable', 'retryable', 'permanent'),
  early: fc.boolean(),
  advanceMs: fc.integer({ min: 0, max: 5000 }),
});

type Outcome = { kind: string; early: boolean; advanceMs: number };

interface Run {
  decisions: Array<{ event: TriggerEvent; now: Date; decision: Decision }>;
  final: TriggerState;
}

function drive(version: WorkflowVersion, flag: boolean, seed: number, outcomes: fc.Stream<Outcome>): Run {
  const random = seededRandom(seed);
  let state = initialTriggerState(version, { id: 'trig', idempotencyKey: 'k', createdAt: T0, recipient: { id: 'r', email: 'r@example.com', phone: '+14155550100' }, payload: { flag, name: 'Ada' } });
  let now = T0.getTime();
  const decisions: Run['decisions'] = [];
  const step = (event: TriggerEvent) => {
    const decision = decide(version, state, event, new Date(now), { random });
    decisions.push({ event, now: new Date(now), decision });
    state = decision.state;
  };
  step({ type: 'Started' });
  for (let i = 0; i < 2000 && (state.status === 'processing' || state.status === 'enqueued'); i++) {
    const outcome = outcomes.next().value;
    const running = Object.entries(state.cursor.steps).find(([, s]) => s.status === 'running');
    now += outcome.advanceMs;
    if (running) {
      const [nodeId] = running;
      if (outcome.kind === 'ok') step({ type: 'StepSucceeded', nodeId, output: { at: now } });
      else step({ type: 'StepFailed', nodeId, error: { reason: 'PROVIDER_ERROR', message: outcome.kind, retryable: outcome.kind === 'retryable' } });
      continue;
    }
    const wakes = Object.values(state.cursor.steps).flatMap((s) => (s.status === 'waiting' && s.wakeAt ? [Date.parse(s.wakeAt)] : []));
    if (wakes.length === 0) throw new Error(`stuck: ${JSON.stringify(state.cursor)}`);
    const due = Math.min(...wakes);
    if (outcome.early && due > T0.getTime() && now < due) now = Math.max(now, due - 1 - (outcome.advanceMs % 50));
    else now = Math.max(now, due);
    step({ type: 'TimerFired' });
  }
  return { decisions, final: state };
}

function logsOf(effects: Effect[]) {
  return effects.flatMap((e) => (e.type === 'AppendLog' ? [e.entry] : []));
}

test('any valid DAG driven with random outcomes terminates and keeps every planner invariant', (t) => {
  const stats: Record<string, number> = { retried: 0, skipped: 0, early: 0 };
  fc.assert(
    fc.property(arbWorkflow, fc.boolean(), fc.integer(), fc.infiniteStream(arbOutcome), (def, flag, seed, outcomes) => {
      if (validateWorkflow(def).length > 0) throw new Error(`generator produced an invalid workflow: ${JSON.stringify(validateWorkflow(def))}`);
      const version: WorkflowVersion = { workflowId: 'wf', version: 1, definition: def };
      const { decisions, final } = drive(version, flag, seed, outcomes);
      stats[final.status] = (stats[final.status] ?? 0) + 1;
      if (decisions.some((d) => logsOf(d.decision.effects).some((l) => l.event === 'STEP_RETRY_SCHEDULED'))) stats.retried++;
      if (decisions.some((d) => logsOf(d.decision.effects).some((l) => l.event === 'STEP_SKIPPED'))) stats.skipped++;
      if (decisions.some((d) => d.event.type === 'TimerFired' && d.decision.state === decisions[decisions.indexOf(d) - 1]?.decision.state)) stats.early++;
      const incoming = (id: string) => def.edges.filter((e) => e.to === id);

      // Terminates.
      if (!['completed', 'failed'].includes(final.status)) throw new Error(`did not terminate: ${final.status}`);

      const allEffects = decisions.flatMap((d) => d.decision.effects);
      const logs = logsOf(allEffects);
      const finishes = new Map<string, number>();
      const starts = new Map<string, number>();
      for (const entry of logs) {
        if (!entry.nodeId) continue;
        if (['STEP_SUCCEEDED', 'STEP_SKIPPED', 'STEP_FAILED'].includes(entry.event)) finishes.set(entry.nodeId, (finishes.get(entry.nodeId) ?? 0) + 1);
        if (entry.event === 'STEP_STARTED') starts.set(entry.nodeId, (starts.get(entry.nodeId) ?? 0) + 1);
      }

      for (const node of def.nodes) {
        const s = final.cursor.steps[node.id];
        const ended = ['done', 'skipped', 'failed'].includes(s.status);
        // Every node ends done, skipped or failed exactly once (all nodes are reachable by construction)...
        if (final.status === 'completed' && !['done', 'skipped'].includes(s.status)) throw new Error(`completed with ${node.id} ${s.status}`);
        if ((finishes.get(node.id) ?? 0) !== (ended ? 1 : 0)) throw new Error(`${node.id} finished ${finishes.get(node.id)} times, status ${s.status}`);
        // ...never exceeds its attempt limit...
        const { maxAttempts } = resolveRetryPolicy(def, node);
        if ((starts.get(node.id) ?? 0) > maxAttempts) throw new Error(`${node.id} started ${starts.get(node.id)} times`);
        if (s.attempts > maxAttempts) throw new Error(`${node.id} has ${s.attempts} attempts`);
        // ...and is skipped exactly when no incoming edge was taken.
        const ins = incoming(node.id);
        if (s.status === 'skipped' && ins.some((e) => final.cursor.edges[`${e.from}->${e.to}`] === 'taken')) throw new Error(`${node.id} skipped with a taken input`);
        if (s.status === 'done' && ins.length > 0 && !ins.some((e) => final.cursor.edges[`${e.from}->${e.to}`] === 'taken')) throw new Error(`${node.id} ran without a taken input`);
      }
      if (final.status === 'failed' && def.nodes.filter((n) => final.cursor.steps[n.id].status === 'failed').length !== 1) throw new Error('a failed trigger has exactly one failed step');

      // Edges from done nodes follow their conditions; edges from skipped nodes are never taken.
      for (const e of def.edges) {
        const resolution = final.cursor.edges[`${e.from}->${e.to}`];
        const from = final.cursor.steps[e.from].status;
        if (from === 'done' && resolution !== (expectedTaken(e.condition, flag) ? 'taken' : 'not_taken')) throw new Error(`edge ${e.from}->${e.to} resolved ${resolution}`);
        if (from === 'skipped' && resolution !== 'not_taken') throw new Error(`edge from skipped ${e.from} was ${resolution}`);
      }

      // Never runs a node before its predecessors, and runs at most one send at a time.
      for (const { decision } of decisions) {
        const begun = [
          ...decision.effects.flatMap((e) => (e.type === 'SendEmail' || e.type === 'SendSms' ? [e.nodeId] : [])),
          ...logsOf(decision.effects).flatMap((l) => (l.event === 'DELAY_SCHEDULED' && l.nodeId ? [l.nodeId] : [])),
        ];
        for (const id of begun) {
          for (const e of incoming(id)) {
            const p = decision.state.cursor.steps[e.from].status;
            if (p !== 'done' && p !== 'skipped') throw new Error(`${id} began while predecessor ${e.from} was ${p}`);
          }
        }
        if (decision.effects.filter((e) => e.type === 'SendEmail' || e.type === 'SendSms').length > 1) throw new Error('two sends in one decision');
      }

      // Exactly one terminal effect.
      const terminal = allEffects.filter((e) => e.type === 'Complete' || e.type === 'Fail').map((e) => e.type);
      if (terminal.length !== 1 || terminal[0] !== (final.status === 'completed' ? 'Complete' : 'Fail')) throw new Error(`terminal effects ${terminal.join(',')}`);

      // Timers never fire early: a TimerFired before the earliest wake changes nothing.
      for (let i = 1; i < decisions.length; i++) {
        const { event, now, decision } = decisions[i];
        const before = decisions[i - 1].decision.state;
        if (event.type !== 'TimerFired') continue;
        const wakes = Object.values(before.cursor.steps).flatMap((s) => (s.status === 'waiting' && s.wakeAt ? [Date.parse(s.wakeAt)] : []));
        if (now.getTime() < Math.min(...wakes) && decision.state !== before) throw new Error('an early timer changed the state');
      }

      // Deterministic: replaying the same events with the same seed gives the same decisions.
      const random = seededRandom(seed);
      let replayState = decisions[0] ? initialTriggerState(version, { id: 'trig', idempotencyKey: 'k', createdAt: T0, recipient: { id: 'r', email: 'r@example.com', phone: '+14155550100' }, payload: { flag, name: 'Ada' } }) : final;
      for (const { event, now, decision } of decisions) {
        const again = decide(version, replayState, event, now, { random });
        t.deepEqual(again, decision);
        replayState = again.state;
      }
    }),
    { numRuns: 500 },
  );
  // The generator must actually reach the interesting paths, or the property proves little.
  t.log(JSON.stringify(stats));
  for (const key of ['completed', 'failed', 'retried', 'skipped', 'early']) t.true((stats[key] ?? 0) > 0, `no run ${key}`);
});
