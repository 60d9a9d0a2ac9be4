// The gateway's identity: random on first start, then kept in the catalog.
// Unit serial numbers and designators derive from it, so initiators see the
// same devices after a restart and different ones on another gateway.
import { randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.ts';

interface GatewayIdentity {
  /** 32 lower-case hex digits. */
  readonly id: string;
  readonly createdAt: string;
}

const KEY = 'identity';

export async function loadOrCreateGatewayId(catalog: Catalog): Promise<{ id: string; created: boolean }> {
  const section = catalog.section<GatewayIdentity>('gateway');
  const existing = await section.get(KEY);
  if (existing) return { id: existing.id, created: false };
  const identity: GatewayIdentity = { id: randomBytes(16).toString('hex'), createdAt: new Date().toISOString() };
  await section.put(KEY, identity);
  return { id: identity.id, created: true };
}
