import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Starts OpenTelemetry only when asked (HERALD_OTEL_ENABLED=true); exporters and endpoints come
 * from the standard OTEL_* variables, so operators use their collector's usual settings.
 */
export function startTelemetry(enabled: boolean, serviceName: string): { shutdown(): Promise<void> } {
  if (!enabled) return { shutdown: async () => undefined };
  process.env.OTEL_SERVICE_NAME ??= serviceName;
  const sdk = new NodeSDK();
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
