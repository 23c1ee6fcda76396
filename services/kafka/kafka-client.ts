import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * One kafkajs client per process role, configured only from HeraldConfig. kafkajs' own logs go
 * through pino (at warn and above: its info level narrates every rebalance) so they are
 * structured and redacted like the rest.
 */
export function createKafka(config: HeraldConfig, clientId: string, logger?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!logger) return;
      const { message, timestamp: _timestamp, ...extra } = entry.log;
      logger[PINO_LEVEL[entry.level] ?? 'info']({ kafka: { namespace: entry.namespace, ...extra } }, message);
    },
  });
}
