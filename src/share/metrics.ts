// The file shares' metrics, named as AWS's S3 File Gateway names them in
// CloudWatch, computed when scraped: per share (label "share") and for the
// gateway's NFS server.
import { Gauge, type Registry } from 'prom-client';
import type { ShareService } from './share-service.ts';

export function registerShareMetrics(registry: Registry, shares: ShareService, nfsSessions: () => number): void {
  const registers = [registry];
  const perShare = (name: string, help: string, value: (share: ReturnType<ShareService['list']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['share'],
      registers,
      collect(this: Gauge<'share'>) {
        this.reset();
        for (const share of shares.list()) this.set({ share: share.name }, value(share));
      },
    });
  perShare('FilesFailingUpload', 'Files whose last upload attempt failed (they are retried).', (s) => s.filesFailingUpload);
  perShare('FilesNotUploaded', 'Files changed here and not yet in the bucket (settling or uploading).', (s) => s.filesDirty);
  new Gauge({
    name: 'NfsSessions',
    help: 'NFS client connections open now.',
    registers,
    collect(this: Gauge) {
      this.set(nfsSessions());
    },
  });
}
