import type { AdminApp } from '../../api/app/app-types';
import { AdminServiceService } from '../gen/herald/v1/admin_service';
import type { ServiceHandlers } from '../edge/bind-service';
import { apiKeyToProto, roleFromProto } from '../convert/admin';
import { pageRequestFromProto, Violations } from '../convert/common';

export function adminHandlers(app: AdminApp): ServiceHandlers<typeof AdminServiceService> {
  return {
    async createApiKey(request) {
      const violations = new Violations();
      const role = roleFromProto(request.role);
      if (!role) violations.add('role', 'MISSING_FIELD', 'role must be one of the four ROLE_* values');
      violations.throwIfAny();
      const created = await app.createKey(role!, request.description);
      return { apiKey: apiKeyToProto(created.key), secret: created.secret };
    },

    async listApiKeys(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      violations.throwIfAny();
      const result = await app.listKeys(page);
      return { apiKeys: result.items.map(apiKeyToProto), nextPageToken: result.nextPageToken };
    },

    async revokeApiKey(request) {
      const violations = new Violations();
      violations.requireUuid('id', request.id);
      violations.throwIfAny();
      return { apiKey: apiKeyToProto(await app.revokeKey(request.id)) };
    },
  };
}
