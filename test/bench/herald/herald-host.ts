/**
 * Runs one Herald role exactly as `herald serve <role>` does (the real CLI, imported), with one
 * addition for the bench: the capture provider's send methods are wrapped to record when each
 * send started and ended, so step timing is measured at the provider, as for the BullMQ peer.
 * The records go to the bench over IPC on request. No Herald code is changed.
 *
 * If the CLI module cannot be loaded, the host starts the role through the same documented entry
 * points the CLI calls (startApi / startScheduler) and says so on stderr.
 */
import { CaptureProvider } from '../../../services/providers/capture-provider';
import type { DeliveryContext } from '../../../core/ports/providers';
import { preciseNow } from '../processes';

export type SendTuple = [triggerId: string, nodeId: string, attempt: number, start: number, end: number];
export type HostMessage = { type: 'sends'; sends: SendTuple[]; count: number };

const role = process.env.BENCH_HERALD_ROLE as 'api' | 'scheduler';
const sends: SendTuple[] = [];
type Send = (this: CaptureProvider, message: never, context: DeliveryContext, signal?: AbortSignal) => Promise<unknown>;

for (const method of ['sendEmail', 'sendSms'] as const) {
  const original = CaptureProvider.prototype[method] as unknown as Send;
  (CaptureProvider.prototype as unknown as Record<string, Send>)[method] = async function (this: CaptureProvider, message, context, signal) {
    const start = preciseNow();
    const result = await original.call(this, message, context, signal);
    sends.push([context.triggerId, context.nodeId, context.attempt, start, preciseNow()]);
    return result;
  };
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'sends') process.send?.({ type: 'sends', sends, count: sends.length } satisfies HostMessage);
});
// The IPC channel must not keep the process alive: the role decides when to exit.
process.channel?.unref();

async function serveDirectly(): Promise<void> {
  const { loadConfig } = await import('../../../services/config/config');
  const { createLogger } = await import('../../../services/telemetry/logger');
  const { connectPostgres } = await import('../../../services/postgres/connect');
  const { migrateToLatest } = await import('../../../services/postgres/migrate');
  const config = loadConfig();
  const logger = createLogger(config.logLevel, `herald-${role}`);
  const knex = connectPostgres(config.postgres);
  await migrateToLatest(knex, config.postgres.schema);
  await knex.destroy();
  const started = role === 'api'
    ? await (await import('../../../services/api/main')).startApi(config, logger)
    : await (await import('../../../services/scheduler/main')).startScheduler(config, logger);
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  const forced = setTimeout(() => process.exit(1), 9_000);
  forced.unref();
  await started.stop();
  process.exit(0);
}

process.argv = [process.argv[0], 'services/cli/herald.ts', 'serve', role];
try {
  await import('../../../services/cli/herald');
} catch (error) {
  process.stderr.write(`bench host: services/cli/herald.ts could not be loaded (${(error as Error).message}); starting ${role} through its main module\n`);
  await serveDirectly();
}
