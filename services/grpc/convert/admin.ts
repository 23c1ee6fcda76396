import type { ApiKey, Role, SchedulerStatus } from '../../api/app/app-types';
import { Role as ProtoRole, type ApiKey as ProtoApiKey } from '../gen/herald/v1/admin_service';
import type { SchedulerInfo } from '../gen/herald/v1/cluster_service';
import { timestampToProto } from './common';

const ROLE_TO_PROTO: Record<Role, ProtoRole> = {
  workflowManager: ProtoRole.ROLE_WORKFLOW_MANAGER,
  triggerOperator: ProtoRole.ROLE_TRIGGER_OPERATOR,
  systemAdmin: ProtoRole.ROLE_SYSTEM_ADMIN,
  workerService: ProtoRole.ROLE_WORKER_SERVICE,
};

/** The domain role, or undefined for UNSPECIFIED and unknown values. */
export function roleFromProto(role: ProtoRole): Role | undefined {
  return (Object.keys(ROLE_TO_PROTO) as Role[]).find((key) => ROLE_TO_PROTO[key] === role);
}

export function roleToProto(role: Role): ProtoRole {
  return ROLE_TO_PROTO[role] ?? ProtoRole.ROLE_UNSPECIFIED;
}

/** Never carries the secret or its hash: the domain ApiKey has neither. */
export function apiKeyToProto(key: ApiKey): ProtoApiKey {
  return {
    id: key.id,
    role: roleToProto(key.role),
    description: key.description,
    createTime: timestampToProto(key.createdAt),
    revokeTime: timestampToProto(key.revokedAt),
    lastUseTime: timestampToProto(key.lastUsedAt),
  };
}

export function schedulerFromProto(info: SchedulerInfo): SchedulerStatus {
  return {
    schedulerId: info.schedulerId,
    partitions: info.partitions.map((p) => ({ partition: p.partition, epoch: p.epoch })),
    actorsInMemory: info.actorsInMemory,
    parkedTimers: info.parkedTimers,
    consumerLag: info.consumerLag,
    startedAt: info.startTime ?? new Date(),
  };
}

/** Also what a scheduler sends in its heartbeat, where there is no last-seen time yet. */
export function schedulerToProto(status: SchedulerStatus & { lastSeenAt?: Date }): SchedulerInfo {
  return {
    schedulerId: status.schedulerId,
    partitions: status.partitions.map((p) => ({ partition: p.partition, epoch: p.epoch })),
    actorsInMemory: status.actorsInMemory,
    parkedTimers: status.parkedTimers,
    consumerLag: status.consumerLag,
    startTime: timestampToProto(status.startedAt),
    lastSeenTime: timestampToProto(status.lastSeenAt),
  };
}
