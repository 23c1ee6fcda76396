/**
 * The one program: `herald serve api|scheduler|all`, `herald admin bootstrap`, `herald migrate`.
 * This file is the only place where processes are wired together.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type HeraldConfig } from '../config/config';
import { listApiKeys } from '../postgres/api-key-store';
import { connectPostgres } from '../postgres/connect';
import { migrateToLatest } from '../postgres/migrate';
import { createLogger } from '../telemetry/logger';
import { startTelemetry } from '../telemetry/otel';

const USAGE = `usage:
  herald serve api|scheduler|all   run the control plane, a scheduler, or both in one process
  herald admin bootstrap [--description text]
                                   create a systemAdmin API key and print it once
  herald migrate                   bring the database schema up to date`;

/** SIGTERM must end the process within 10 s even if a dependency hangs on close. */
const SHUTDOWN_DEADLINE_MS = 9_000;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  let config: HeraldConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command === 'serve' && (sub === 'api' || sub === 'scheduler' || sub === 'all')) return serve(config, sub);
  if (command === 'admin' && sub === 'bootstrap') return bootstrapAdmin(config, rest);
  if (command === 'migrate') return migrate(config);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

async function migrate(config: HeraldConfig): Promise<number> {
  const knex = connectPostgres(config.postgres);
  try {
    await migrateToLatest(knex, config.postgres.schema);
    process.stdout.write(`schema ${config.postgres.schema} is up to date\n`);
    return 0;
  } finally {
    await knex.destroy();
  }
}

async function bootstrapAdmin(config: HeraldConfig, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { description: { type: 'string', default: 'bootstrap admin' } } });
  const knex = connectPostgres(config.postgres);
  try {
    await migrateToLatest(knex, config.postgres.schema);
    const { createAdminApp } = await import('../api/app/admin-app');
    const admin = createAdminApp({ knex });
    const { key, secret } = await admin.createKey('systemAdmin', values.description ?? '');
    process.stdout.write(`${secret}\n`);
    process.stderr.write(`created systemAdmin key ${key.id}; the secret above is shown once\n`);
    return 0;
  } finally {
    await knex.destroy();
  }
}

async function serve(config: HeraldConfig, role: 'api' | 'scheduler' | 'all'): Promise<number> {
  const logger = createLogger(config.logLevel, `herald-${role}`);
  const telemetry = startTelemetry(config.otelEnabled, `herald-${role}`);
  const knex = connectPostgres(config.postgres);
  await migrateToLatest(knex, config.postgres.schema);
  const hasKeys = (await listApiKeys(knex, { pageSize: 1, pageToken: '' })).items.length > 0;
  await knex.destroy();

  const stoppers: Array<() => Promise<void>> = [];
  if (role === 'api' || role === 'all') {
    const { startApi } = await import('../api/main');
    const api = await startApi(config, logger);
    stoppers.push(() => api.stop());
  }
  if (role === 'scheduler' || role === 'all') {
    const { startScheduler } = await import('../scheduler/main');
    const scheduler = await startScheduler(config, logger);
    stoppers.unshift(() => scheduler.stop());
  }
  logger.info({ role, api: config.api.address, schema: config.postgres.schema }, 'herald ready');
  if (role !== 'scheduler' && !hasKeys && !config.api.bootstrapAdminKey) {
    logger.warn('no API keys exist yet: run `npm run -s herald -- admin bootstrap` to create the first systemAdmin key');
  }

  await waitForShutdownSignal();
  logger.info('shutting down');
  const forced = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  forced.unref();
  for (const stop of stoppers) {
    await stop().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
  }
  await telemetry.shutdown().catch(() => undefined);
  logger.info('stopped');
  return 0;
}

function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`herald: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
