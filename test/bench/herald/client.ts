/**
 * The bench's gRPC client for Herald: the generated herald.v1 clients, promisified, with the
 * bearer key on every call. Only the calls the bench needs.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { TriggerServiceClient, type CreateTriggerRequest } from '../../../services/grpc/gen/herald/v1/trigger_service';
import { Workflow } from '../../../services/grpc/gen/herald/v1/workflow';
import { WorkflowServiceClient } from '../../../services/grpc/gen/herald/v1/workflow_service';

export type { CreateTriggerRequest };

type Callback<R> = (error: ServiceError | null, response: R) => void;

function call<Q, R>(fn: (request: Q, metadata: Metadata, options: { deadline: Date }, callback: Callback<R>) => unknown, request: Q, metadata: Metadata, timeoutMs = 60_000): Promise<R> {
  return new Promise((resolve, reject) => {
    fn(request, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export interface BatchItemResult {
  id?: string;
  error?: string;
}

export class HeraldClient {
  private readonly triggers: TriggerServiceClient[];
  private readonly workflows: WorkflowServiceClient;
  private readonly metadata = new Metadata();
  private next = 0;

  /** `channels` > 1 spreads calls over several HTTP/2 connections. */
  constructor(address: string, secret: string, channels = 1) {
    const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };
    this.triggers = Array.from({ length: channels }, () => new TriggerServiceClient(address, credentials.createInsecure(), options));
    this.workflows = new WorkflowServiceClient(address, credentials.createInsecure());
    this.metadata.set('authorization', `Bearer ${secret}`);
  }

  private triggerClient(): TriggerServiceClient {
    this.next = (this.next + 1) % this.triggers.length;
    return this.triggers[this.next];
  }

  async createActiveWorkflow(workflow: Partial<Workflow>): Promise<string> {
    const created = await call(this.workflows.createWorkflow.bind(this.workflows), { workflow: Workflow.fromPartial(workflow as Parameters<typeof Workflow.fromPartial>[0]) }, this.metadata);
    const stored = created.workflow!;
    await call(this.workflows.activateWorkflow.bind(this.workflows), { id: stored.id, etag: stored.etag }, this.metadata);
    return stored.id;
  }

  async createTrigger(request: CreateTriggerRequest): Promise<string> {
    const client = this.triggerClient();
    const response = await call(client.createTrigger.bind(client), request, this.metadata);
    return response.trigger!.id;
  }

  async batchCreateTriggers(requests: CreateTriggerRequest[]): Promise<BatchItemResult[]> {
    const client = this.triggerClient();
    const response = await call(client.batchCreateTriggers.bind(client), { requests }, this.metadata);
    return response.results.map((r) =>
      r.result?.$case === 'accepted' ? { id: r.result.accepted.trigger!.id } : { error: r.result?.$case === 'error' ? r.result.error.message : 'no result' },
    );
  }

  close(): void {
    for (const c of this.triggers) c.close();
    this.workflows.close();
  }
}
