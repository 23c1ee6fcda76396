#!/usr/bin/env node
// Lets `npx herald ...` run the TypeScript CLI directly, through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./herald.ts');
