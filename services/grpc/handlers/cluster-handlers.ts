import { HeraldError } from '../../../core/errors';
import type { ClusterApp } from '../../api/app/app-types';
import { ClusterServiceService } from '../gen/herald/v1/cluster_service';
import type { ServiceHandlers } from '../edge/bind-service';
import { schedulerFromProto, schedulerToProto } from '../convert/admin';
import { pageRequestFromProto, Violations } from '../convert/common';

/** The cluster is small, so pages are slices of one read; the token is the offset. */
function offsetFromToken(token: string): number {
  if (token === '') return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, ''));
  if (!Number.isSafeInteger(offset) || offset < 0) throw new HeraldError('INVALID_PAGE_TOKEN', 'page_token is not one this server issued');
  return offset;
}

export function clusterHandlers(app: ClusterApp): ServiceHandlers<typeof ClusterServiceService> {
  return {
    async heartbeat(request) {
      const violations = new Violations();
      if (violations.require('scheduler', request.scheduler)) violations.require('scheduler.scheduler_id', request.scheduler?.schedulerId);
      violations.throwIfAny();
      await app.heartbeat(schedulerFromProto(request.scheduler!));
      return {};
    },

    async listSchedulers(request) {
      const violations = new Violations();
      const page = pageRequestFromProto(request, violations);
      violations.throwIfAny();
      const offset = offsetFromToken(page.pageToken);
      const all = (await app.listSchedulers()).sort((a, b) => a.schedulerId.localeCompare(b.schedulerId));
      const end = offset + page.pageSize;
      return {
        schedulers: all.slice(offset, end).map(schedulerToProto),
        nextPageToken: end < all.length ? Buffer.from(`o:${end}`).toString('base64url') : '',
      };
    },
  };
}
