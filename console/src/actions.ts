// What the console can do, each one a route tapegw also calls.
import type { RetrievalTier } from '../../src/shelf/shelf-service.ts';
import type { CreateTapesRequest } from '../../src/tape/tape-service.ts';
import type { CreateVolumeRequest } from '../../src/volume/volume-service.ts';
import type { ShareAnswer } from '../../src/api/share-routes.ts';
import type { ShareRequest } from '../../src/share/share-service.ts';
import type { Api } from './api.ts';

const tape = (barcode: string) => `/tapes/${encodeURIComponent(barcode)}`;
const shelved = (barcode: string) => `/shelf/${encodeURIComponent(barcode)}`;
const share = (name: string) => `/shares/${encodeURIComponent(name)}`;
const volume = (name: string) => `/volumes/${encodeURIComponent(name)}`;
const bypassBody = (bypass: boolean) => (bypass ? { bypassGovernanceRetention: true } : undefined);

export const actions = {
  createTapes: (api: Api, request: CreateTapesRequest) => api.post('/tapes', request),
  archive: (api: Api, barcode: string) => api.post(`${tape(barcode)}/archive`),
  deleteTape: (api: Api, barcode: string, bypass: boolean) => api.delete(tape(barcode), bypassBody(bypass)),
  cancelArchival: (api: Api, barcode: string) => api.post(`${shelved(barcode)}/cancel-archival`),
  /** Without a tier, the gateway's default (shelf.retrievalTier). */
  retrieve: (api: Api, barcode: string, tier: RetrievalTier | undefined) =>
    api.post(`${shelved(barcode)}/retrieve`, tier ? { tier } : undefined),
  cancelRetrieval: (api: Api, barcode: string) => api.post(`${shelved(barcode)}/cancel-retrieval`),
  deleteArchive: (api: Api, barcode: string, bypass: boolean) => api.delete(shelved(barcode), bypassBody(bypass)),
  createShare: (api: Api, request: ShareRequest) => api.post<ShareAnswer>('/shares', request),
  /** Without a path, the share's top directory. */
  refreshShare: (api: Api, name: string, path: string, recursive: boolean) =>
    api.post<{ directories: number }>(`${share(name)}/refresh`, { ...(path ? { path } : {}), ...(recursive ? { recursive } : {}) }),
  deleteShare: (api: Api, name: string) => api.delete(share(name)),
  createVolume: (api: Api, request: CreateVolumeRequest) => api.post('/volumes', request),
  deleteVolume: (api: Api, name: string, force: boolean) => api.delete(volume(name), force ? { force } : undefined),
  snapshot: (api: Api, name: string, description: string) =>
    api.post(`${volume(name)}/snapshots`, description ? { description } : undefined),
  deleteSnapshot: (api: Api, id: string) => api.delete(`/snapshots/${encodeURIComponent(id)}`),
};
