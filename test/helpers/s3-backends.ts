// The S3 backends that the backend-sensitive tests run against: the embedded
// s3rver and Ceph RGW (a real distributed object store, one cluster per test
// run: test/helpers/rgw.ts). A suite joins the set by being written as
//
//   describeEachBackend('cloud ObjectStore', function (backend) {
//     let s3: S3Fixture;
//     beforeEach(async () => (s3 = await backend.bucket()));
//     afterEach(() => s3.close());
//     it('…', async () => { … s3.settings … s3.raw … s3.gateway.args … });
//   });
//
// which makes two suites, "cloud ObjectStore on s3rver" and "cloud ObjectStore
// on Ceph RGW @peer" (skipped, or failed under CI=true, without Ceph).
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { probeUploadChecks, uploadCheckFor } from '../../src/cloud/upload-checks.ts';
import { gatewayS3, startS3, type S3Fixture } from '../cloud/helpers.ts';
import { rgwCluster, type RgwCluster } from './rgw.ts';

export type BackendName = 's3rver' | 'rgw';

export interface S3Backend {
  readonly name: BackendName;
  /**
   * A bucket no other test uses, with settings as the gateway would make them:
   * `uploadCheck` is what the start-up probe finds this endpoint verifies.
   */
  bucket(): Promise<S3Fixture>;
}

/** Defines the suite once per backend; `define` is called as a describe() callback is, the suite as `this`. */
export function describeEachBackend(title: string, define: (this: Mocha.Suite, backend: S3Backend) => void): void {
  describe(`${title} on s3rver`, function () {
    define.call(this, { name: 's3rver', bucket: s3rverBucket });
  });
  describe(`${title} on Ceph RGW @peer`, function () {
    let cluster: RgwCluster | undefined;
    before(async function () {
      cluster = await rgwCluster(this);
    });
    define.call(this, { name: 'rgw', bucket: () => rgwBucket(cluster!) });
  });
}

async function s3rverBucket(): Promise<S3Fixture> {
  const fixture = await startS3(`test-${randomUUID().slice(0, 8)}`);
  return probed(fixture);
}

async function rgwBucket(cluster: RgwCluster): Promise<S3Fixture> {
  const bucket = `test-${randomUUID().slice(0, 8)}`;
  const raw = new S3Client({ endpoint: cluster.endpoint, region: cluster.region, credentials: cluster.credentials, forcePathStyle: true });
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  const settings = {
    endpoint: cluster.endpoint,
    region: cluster.region,
    credentials: { ...cluster.credentials },
    bucket,
    forcePathStyle: true,
  };
  // The bucket stays: the cluster goes at the end of the run.
  return probed({ settings, raw, gateway: gatewayS3(settings), close: async () => raw.destroy() });
}

async function probed<F extends S3Fixture>(fixture: F): Promise<F> {
  fixture.settings.uploadCheck = uploadCheckFor(await probeUploadChecks(fixture.raw, fixture.settings.bucket));
  return fixture;
}
