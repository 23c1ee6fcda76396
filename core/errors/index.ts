export * from './reason-codes';
export * from './herald-error';
