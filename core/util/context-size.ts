import { jsonByteLength } from './byte-size';

/** An execution context as far as sizing goes: a fixed part plus the growing `steps`. */
export interface ContextShape {
  payload: unknown;
  recipient: unknown;
  trigger: unknown;
  workflow: unknown;
  steps: unknown;
}

interface FixedPartSize {
  recipient: unknown;
  trigger: unknown;
  workflow: unknown;
  /** JSON size of the context with `steps: {}`. */
  bytes: number | undefined;
}

/**
 * JSON size of everything but `steps`, per payload object. Decisions share the payload,
 * recipient, trigger and workflow objects of the state they copy and never write inside them,
 * so a trigger's payload is measured once per actor rather than re-serialised for every step.
 */
const fixedPartSizes = new WeakMap<object, FixedPartSize>();

/** Exactly `jsonByteLength(context)`: the fixed part (cached) plus the current `steps`. */
export function contextByteLength(context: ContextShape): number | undefined {
  const { payload, recipient, trigger, workflow } = context;
  if (typeof payload !== 'object' || payload === null) return jsonByteLength(context);
  let fixed = fixedPartSizes.get(payload);
  if (!fixed || fixed.recipient !== recipient || fixed.trigger !== trigger || fixed.workflow !== workflow) {
    fixed = { recipient, trigger, workflow, bytes: jsonByteLength({ ...context, steps: {} }) };
    fixedPartSizes.set(payload, fixed);
  }
  const steps = jsonByteLength(context.steps);
  // `{}` (2 bytes) in the fixed part's JSON is replaced by the steps' own JSON.
  return fixed.bytes === undefined || steps === undefined ? undefined : fixed.bytes - 2 + steps;
}
