/** Time is a port so that core stays pure and tests control it. */
export interface Clock {
  now(): Date;
}
