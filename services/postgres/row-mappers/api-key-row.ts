import type { ApiKey, Role } from '../../api/app/app-types';

export interface ApiKeyRow {
  id: string;
  role: string;
  description: string;
  /** SHA-256 of the secret part of the key; never the secret. */
  secret_hash: Buffer;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** The public view of a key: never its hash. */
export function rowToApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    role: row.role as Role,
    description: row.description,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
