import type { RandomSource } from '../trigger/planner-types';

/**
 * Deterministic randomness (mulberry32) for tests and replays. Production wires a
 * Math.random-backed source from services/, so core never reaches for global randomness.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
