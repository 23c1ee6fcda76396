/**
 * The api's application layer: what services/api/main.ts wires and the gRPC edge calls.
 *
 *   createWorkflowApp({ knex, limits? })                       -> WorkflowApp
 *   createTriggerApp({ knex, publisher, config, logger? })      -> TriggerApp & { close() }
 *   createAdminApp({ knex, logger? })                           -> AdminApp & { close() }
 *   createClusterApp({ knex })                                  -> ClusterApp
 *
 * Kafka and the outbox relay (services/kafka, services/api/relay.ts):
 *   createKafka(config, clientId, logger?)                      -> kafkajs Kafka
 *   ensureTopics(kafka, config, logger?)                        -> creates herald.triggers (+ .dlq)
 *   createTriggerPublisher(kafka, config, { logger? })          -> TriggerPublisher (close())
 *   startRelay({ knex, publisher, config, logger? })            -> { runOnce(), stop() }
 *
 * Typical wiring in startApi:
 *   const kafka = createKafka(config, 'herald-api', logger);
 *   await ensureTopics(kafka, config, logger);
 *   const publisher = createTriggerPublisher(kafka, config, { logger });
 *   const triggers = createTriggerApp({ knex, publisher, config, logger });
 *   const relay = startRelay({ knex, publisher, config, logger });
 *   if (config.api.bootstrapAdminKey) await admin.ensureBootstrapKey(config.api.bootstrapAdminKey);
 *   // stop: relay.stop(), triggers.close(), admin.close(), publisher.close(), knex.destroy()
 */
export * from './app-types';
export { createWorkflowApp, type WorkflowAppDeps } from './workflow-app';
export { createTriggerApp, MAX_BATCH_CREATE, type TriggerAppDeps, type TriggerAppService } from './trigger-app';
export { createAdminApp, type AdminAppDeps, type AdminAppService } from './admin-app';
export { createClusterApp, type ClusterAppDeps } from './cluster-app';
export { createKafka } from '../../kafka/kafka-client';
export { ensureTopics } from '../../kafka/topics';
export { createTriggerPublisher, type TriggerPublisher } from '../../kafka/trigger-publisher';
export { startRelay, type Relay } from '../relay';
