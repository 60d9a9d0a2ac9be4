// What a valid configuration is, once every layer is merged. Each message says
// what to write instead; load.ts adds where the bad value came from.
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatSize, parseSize } from './size.ts';

const EMBEDDED = 'embedded';
/** s3rver's fixed key pair; it checks signatures against it. */
const embeddedS3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Lower-case because initiators compare IQNs after folding case. */
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const nameSchema = (what: string, example: string) =>
  z.string().regex(NAME, `${what} must be 1 to 32 lower-case letters, digits or inner hyphens, e.g. "${example}"`);

const IQN_PREFIX = /^iqn\.\d{4}-(?:0[1-9]|1[0-2])\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
/** RFC 7143 section 4.2.7: iqn, eui (16 hex) and naa (16 or 32 hex) names. */
const INITIATOR_NAME = /^(?:iqn\.\d{4}-\d{2}\.[^\s,]+|eui\.[0-9a-f]{16}|naa\.[0-9a-f]{16}(?:[0-9a-f]{16})?)$/i;
/** RFC 7143 section 6.1: iSCSI names are at most 223 bytes. */
const MAX_ISCSI_NAME = 223;

const integer = (min: number, max: number, example: number, what = 'a whole number') =>
  z
    .int(`must be ${what} from ${min} to ${max}, e.g. ${example}`)
    .min(min, `must be at least ${min}, e.g. ${example}`)
    .max(max, `must be at most ${max}, e.g. ${example}`);

const chapSchema = z.strictObject({
  user: z.string().min(1, 'must not be empty, e.g. "backup"').max(255, 'must be at most 255 characters'),
  secret: z
    .string('must be set too: a CHAP name needs its secret')
    .refine((s) => Buffer.byteLength(s) >= 12, 'must be at least 12 bytes (Windows and AWS accept 12 to 16), e.g. "0123456789ab"')
    .refine((s) => Buffer.byteLength(s) <= 255, 'must be at most 255 bytes'),
});

const authSchema = z.strictObject({ chap: chapSchema.optional(), mutualChap: chapSchema.optional() }).superRefine((auth, ctx) => {
  if (auth.mutualChap && !auth.chap) {
    ctx.addIssue({
      code: 'custom',
      path: ['mutualChap'],
      message: 'mutual CHAP needs one-way CHAP as well: set chap.user and chap.secret too',
    });
  }
  if (auth.mutualChap && auth.chap && auth.mutualChap.secret === auth.chap.secret) {
    ctx.addIssue({
      code: 'custom',
      path: ['mutualChap', 'secret'],
      message: 'must differ from the one-way CHAP secret (RFC 7143 section 12.1.3)',
    });
  }
});

const initiatorsSchema = z.array(
  z.string().regex(INITIATOR_NAME, 'must be an iSCSI initiator name, e.g. "iqn.1993-08.org.debian:01:backup1"'),
);

const burst = (example: number) => integer(512, 2 ** 24 - 1, example, 'a byte count');
const digests = z
  .array(z.enum(['CRC32C', 'None'], 'must be "CRC32C" or "None"'))
  .min(1, 'must list at least one of "None" and "CRC32C", e.g. ["None", "CRC32C"]')
  .refine((list) => new Set(list).size === list.length, 'must not list a digest twice');

/** The values the target offers in login negotiation (RFC 7143 section 13). */
const limitsSchema = z
  .strictObject({
    maxRecvDataSegmentLength: burst(262144),
    maxBurstLength: burst(16776192),
    firstBurstLength: burst(262144),
    maxOutstandingR2T: integer(1, 65535, 1),
    initialR2T: z.boolean('must be true or false'),
    immediateData: z.boolean('must be true or false'),
    headerDigest: digests,
    dataDigest: digests,
    maxConnections: integer(1, 65535, 1),
    defaultTime2Wait: integer(0, 3600, 2, 'seconds'),
    defaultTime2Retain: integer(0, 3600, 20, 'seconds'),
    commandWindow: integer(1, 65536, 128, 'a command count'),
  })
  .refine((l) => l.firstBurstLength <= l.maxBurstLength, {
    path: ['firstBurstLength'],
    message: 'must not exceed maxBurstLength (RFC 7143 section 13.14)',
  });

const sizeSchema = z.union([z.int(), z.string()], 'must be a size such as "1GiB" or a number of bytes').transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseSize(value);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size: write e.g. "1GiB", "512MiB" or a number of bytes` });
    return z.NEVER;
  }
  return bytes;
});

const volumeSchema = z
  .strictObject({
    name: nameSchema('a volume name', 'scratch'),
    size: sizeSchema,
    blockSize: z.union([z.literal(512), z.literal(4096)], 'must be 512 or 4096').default(512),
    /** stored: the whole volume on the gateway's disk, backed up to the bucket; cached: the bucket holds it, the cache its hot chunks. */
    type: z.enum(['stored', 'cached'], 'must be "stored" or "cached"').default('stored'),
    /** Replace the gateway-wide iscsi.auth and iscsi.allowedInitiators for this volume's target. */
    auth: authSchema.optional(),
    allowedInitiators: initiatorsSchema.optional(),
  })
  .superRefine((volume, ctx) => {
    if (volume.size % volume.blockSize !== 0) {
      const rounded = Math.ceil(volume.size / volume.blockSize) * volume.blockSize;
      ctx.addIssue({
        code: 'custom',
        path: ['size'],
        message: `must be a whole number of ${volume.blockSize}-byte blocks, e.g. "${formatSize(rounded)}"`,
      });
    }
  });

const BUCKET = /^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$/;

/** A KMS key or alias ARN, in any partition. */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[A-Za-z0-9/_+=,.@-]+$/;

const regionSchema = z.string().regex(/^[a-z0-9-]+$/, 'must be a region name, e.g. "us-east-1"');
/** A cloud key pair (S3's, or Glacier's when it differs). */
const credentialsSchema = z.strictObject({
  accessKeyId: z.string('must be set too: an access key needs its secret key').min(1, 'must not be empty'),
  secretAccessKey: z.string('must be set too: a secret key needs its access key').min(1, 'must not be empty'),
  sessionToken: z.string().optional(),
});

const s3Schema = z
  .strictObject({
    endpoint: z
      .string()
      .refine(
        (e) => e === EMBEDDED || /^https?:\/\/[^/\s]+\/?$/.test(e),
        `must be "${EMBEDDED}" or a URL such as "https://s3.eu-west-1.amazonaws.com"`,
      ),
    region: regionSchema,
    bucket: z
      .string()
      .regex(BUCKET, 'must be a DNS-style bucket name: 3 to 63 lower-case letters, digits, dots or hyphens, e.g. "tape-gateway"'),
    prefix: z
      .string()
      .refine((p) => !p.startsWith('/'), 'must not start with "/", e.g. "site-a/"')
      .transform((p) => (p === '' || p.endsWith('/') ? p : `${p}/`)),
    forcePathStyle: z.boolean('must be true or false').optional(),
    /** AWS account id, for the start-up check that the account blocks public access to buckets. */
    accountId: z
      .string()
      .regex(/^\d{12}$/, 'must be the 12-digit AWS account id, e.g. "123456789012"')
      .optional(),
    credentials: credentialsSchema.optional(),
    serverSideEncryption: z.enum(['none', 'SSE-S3', 'SSE-KMS'], 'must be "none", "SSE-S3" or "SSE-KMS"'),
    /** Where the cache's S3 requests run: a worker thread of their own, or the thread of the iSCSI and NFS data paths. */
    requestThread: z.enum(['worker', 'main'], 'must be "worker" (a thread of their own) or "main"'),
    kmsKeyArn: z
      .string()
      .regex(
        KMS_KEY_ARN,
        'must be the ARN of a KMS key or alias, e.g. "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
      )
      .optional(),
  })
  .superRefine((s3, ctx) => {
    if (s3.endpoint === EMBEDDED && s3.credentials) {
      ctx.addIssue({
        code: 'custom',
        path: ['credentials'],
        message: `the ${EMBEDDED} S3 server has fixed credentials: remove these, or set s3.endpoint to your S3 endpoint's URL`,
      });
    }
    if (s3.serverSideEncryption === 'SSE-KMS' && !s3.kmsKeyArn) {
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeyArn'],
        message: 'must name the KMS key of SSE-KMS: add --s3-kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/ID, or choose --s3-sse SSE-S3',
      });
    }
    if (s3.kmsKeyArn && s3.serverSideEncryption !== 'SSE-KMS') {
      ctx.addIssue({ code: 'custom', path: ['kmsKeyArn'], message: 'is only used with SSE-KMS: add --s3-sse SSE-KMS, or remove the key' });
    }
    if (s3.endpoint === EMBEDDED && s3.serverSideEncryption !== 'none') {
      ctx.addIssue({
        code: 'custom',
        path: ['serverSideEncryption'],
        message: `the ${EMBEDDED} S3 server does not encrypt what it stores: server-side encryption needs an S3 that does (AWS, Ceph RGW, MinIO with a KMS); on this one, keep "none"`,
      });
    }
  })
  .transform(({ serverSideEncryption, kmsKeyArn, ...s3 }) => ({
    ...s3,
    embedded: s3.endpoint === EMBEDDED,
    forcePathStyle: s3.forcePathStyle ?? s3.endpoint === EMBEDDED,
    credentials: s3.endpoint === EMBEDDED ? { ...embeddedS3Credentials } : s3.credentials,
    /** As src/cloud/sse.ts takes it; undefined: none asked (the bucket's default). */
    sse:
      serverSideEncryption === 'SSE-S3'
        ? { mode: 'SSE-S3' as const }
        : serverSideEncryption === 'SSE-KMS'
          ? { mode: 'SSE-KMS' as const, kmsKeyArn: kmsKeyArn! }
          : undefined,
  }));

const TIERS = ['Expedited', 'Standard', 'Bulk'] as const;
const VAULT = /^[A-Za-z0-9_.-]{1,255}$/;

/** "Expedited=1,Standard=5,Bulk=10" or one number of seconds for every tier. */
const jobDelaysSchema = z.string().transform((text, ctx) => {
  const seconds = (value: string) => (/^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN);
  const all = seconds(text);
  if (!Number.isNaN(all)) return { Expedited: all, Standard: all, Bulk: all, inventory: all };
  const delays: Record<string, number> = {};
  for (const item of text.split(',')) {
    const [tier = '', value = ''] = item.split('=').map((p) => p.trim());
    if (!(TIERS as readonly string[]).includes(tier) || Number.isNaN(seconds(value))) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a list of tier=seconds: write e.g. "Expedited=1,Standard=5,Bulk=10", or "Expedited=300,Standard=14400,Bulk=43200" to wait as long as AWS`,
      });
      return z.NEVER;
    }
    delays[tier] = seconds(value);
  }
  return { ...delays, inventory: delays['Standard'] ?? 5 };
});

/** Where the vault shelf's archives go: Glacier, embedded by default. */
const glacierSchema = z
  .strictObject({
    endpoint: z
      .string()
      .refine(
        (e) => e === EMBEDDED || e === 'aws' || /^https?:\/\/[^/\s]+\/?$/.test(e),
        `must be "${EMBEDDED}", "aws" or a URL such as "https://glacier.eu-west-1.amazonaws.com"`,
      ),
    region: regionSchema.optional(),
    credentials: credentialsSchema.optional(),
    jobDelays: jobDelaysSchema,
  })
  .superRefine((glacier, ctx) => {
    if (glacier.endpoint === EMBEDDED && glacier.credentials) {
      ctx.addIssue({
        code: 'custom',
        path: ['credentials'],
        message: `the ${EMBEDDED} Glacier endpoint has its own credentials: remove these, or set glacier.endpoint to "aws" or your endpoint's URL`,
      });
    }
  })
  .transform((glacier) => ({ ...glacier, embedded: glacier.endpoint === EMBEDDED }));

/** Client-side encryption's keys: from a file, or (as a secret) from the environment; neither: off. */
const encryptionSchema = z
  .strictObject({ keyFile: z.string().min(1).optional(), keys: z.string().min(1).optional() })
  .refine((e) => !(e.keyFile && e.keys), {
    path: ['keys'],
    message: 'and encryption.keyFile are two ways to give the same keys: keep one',
  });

const vaultName = z.string().regex(VAULT, 'must be a Glacier vault name: 1 to 255 letters, digits, "-", "_" or ".", e.g. "gw1-glacier"');
const shelfSchema = z.strictObject({
  glacierVault: vaultName.optional(),
  deepArchiveVault: vaultName.optional(),
  retrievalTier: z.enum(TIERS, 'must be "Expedited", "Standard" or "Bulk"'),
});

/** The tape library: its shape, how its devices appear as iSCSI targets, and its cartridges. */
const librarySchema = z.strictObject({
  drives: integer(1, 64, 10, 'a drive count'),
  storageSlots: integer(1, 10000, 1600, 'a slot count'),
  importExportSlots: integer(1, 10000, 1600, 'a slot count'),
  /** "per-device": the changer and each drive is its own target at LUN 0 (as AWS's tape gateway); "single": one target, changer at LUN 0, drives at LUN 1… */
  targets: z.enum(
    ['per-device', 'single'],
    'must be "per-device" (a target per device, as AWS) or "single" (one target, a LUN per device)',
  ),
  /** "worker": a thread per drive serves its sessions, SSC commands and cartridge (with per-device targets); "main": the main thread does; "auto": worker on machines with enough cores (src/gateway/drive-thread.ts). */
  driveThreads: z.enum(['auto', 'worker', 'main'], 'must be "auto" (by the cores), "worker" (a thread per drive) or "main"'),
  /** LTO media ID appended to generated barcodes, e.g. "L5". */
  mediaSuffix: z.string().regex(/^(?:L[1-9A]|L[T-Z])?$/, 'must be an LTO media ID such as "L5" (LTO-5), "LV" (WORM) or "" for none'),
  minTapeSize: sizeSchema,
  maxTapeSize: sizeSchema,
  segmentSize: sizeSchema,
});

/** The cache and upload engine's local disk budget, and how its uploads give way to reads and writes. */
const cacheSchema = z
  .strictObject({
    size: sizeSchema,
    uploadBuffer: sizeSchema,
    uploadQuietMs: integer(0, 3_600_000, 1000, 'milliseconds'),
    uploadMaxDeferMs: integer(0, 86_400_000, 60_000, 'milliseconds'),
  })
  .refine((c) => c.uploadBuffer < c.size, {
    path: ['uploadBuffer'],
    message: 'must be smaller than cache.size: the upload buffer is the part of the cache not yet uploaded',
  });

/** The NFS server: NFSv3 and MOUNT on their ports, the port mapper on its own. */
const nfsSchema = z.strictObject({
  host: z.string().refine((h) => isIP(h) !== 0, 'must be an IP address: "127.0.0.1" (this machine only) or "0.0.0.0" (every interface)'),
  port: integer(0, 65535, 2049, 'a TCP port (0 picks a free one)'),
  mountPort: integer(0, 65535, 20048, 'a TCP port (0 picks a free one)'),
  portmap: z.boolean('must be true or false'),
  portmapPort: integer(0, 65535, 111, 'a TCP port'),
  initialShare: z
    .string()
    .regex(
      /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$/,
      'must be a share name (lower-case letters, digits, inner hyphens), e.g. "files", or "" for none',
    ),
});

/** 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z): only this machine reaches them. */
export function isLoopback(host: string): boolean {
  return /^(?:::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host) || host === '::1';
}

const apiSchema = z
  .strictObject({
    host: z.string().refine((h) => isIP(h) !== 0, 'must be an IP address, e.g. "127.0.0.1" (this machine only)'),
    port: integer(0, 65535, 0, 'a TCP port (0 picks a free one; the CLI finds it in the data directory)'),
    /** PEM files; the API serves HTTPS with them. */
    tls: z
      .strictObject({
        certificate: z.string('must be set too: a key needs its certificate (api.tls.certificate, --api-tls-cert)').min(1),
        key: z.string('must be set too: a certificate needs its private key (api.tls.key, --api-tls-key)').min(1),
      })
      .optional(),
  })
  .superRefine((api, ctx) => {
    if (!api.tls && !isLoopback(api.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: `${api.host} lets other machines reach the management API, whose token must not cross the network in clear text: give it a certificate and key (--api-tls-cert and --api-tls-key, or api.tls in the config file) for HTTPS, or listen on 127.0.0.1`,
      });
    }
  });

export const configSchema = z
  .strictObject({
    dataDir: z.string().min(1, 'must name a directory, e.g. "/var/lib/tape-gateway"'),
    gatewayName: nameSchema('the gateway name', 'gw1'),
    logLevel: z.enum(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'must be one of fatal, error, warn, info, debug, trace, silent',
    ),
    iscsi: z
      .strictObject({
        host: z
          .string()
          .refine((h) => isIP(h) !== 0, 'must be an IP address: "127.0.0.1" (this machine only) or "0.0.0.0" (every interface)'),
        port: integer(0, 65535, 3260, 'a TCP port (0 picks a free one)'),
        iqnPrefix: z
          .string()
          .regex(
            IQN_PREFIX,
            'must be "iqn." + year-month + "." + a reversed domain you own, in lower case, e.g. "iqn.2026-11.com.example"',
          ),
        auth: authSchema,
        discoveryAuth: authSchema,
        allowedInitiators: initiatorsSchema.optional(),
        limits: limitsSchema,
        loginTimeout: integer(5, 3600, 15, 'seconds'),
        connectionLimit: integer(1, 1_000_000, 1024, 'a connection count'),
        connectionLimitPerAddress: integer(1, 1_000_000, 64, 'a connection count'),
      })
      .refine((iscsi) => iscsi.connectionLimitPerAddress <= iscsi.connectionLimit, {
        path: ['connectionLimitPerAddress'],
        message: 'must not exceed iscsi.connectionLimit',
      }),
    volumes: z.array(volumeSchema),
    library: librarySchema,
    cache: cacheSchema,
    api: apiSchema,
    nfs: nfsSchema,
    s3: s3Schema,
    glacier: glacierSchema,
    shelf: shelfSchema,
    encryption: encryptionSchema,
  })
  .superRefine((config, ctx) => {
    if (config.library.minTapeSize > config.library.maxTapeSize) {
      ctx.addIssue({ code: 'custom', path: ['library', 'minTapeSize'], message: 'must not exceed library.maxTapeSize' });
    }
    const seen = new Set<string>();
    config.volumes.forEach((volume, index) => {
      if (seen.has(volume.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['volumes', index, 'name'],
          message: `"${volume.name}" names two volumes: give each its own name`,
        });
      }
      seen.add(volume.name);
      const target = `${config.iscsi.iqnPrefix}:${config.gatewayName}-${volume.name}`;
      if (Buffer.byteLength(target) > MAX_ISCSI_NAME) {
        ctx.addIssue({
          code: 'custom',
          path: ['volumes', index, 'name'],
          message: `makes the target name ${target} longer than ${MAX_ISCSI_NAME} bytes: shorten the iqnPrefix, gateway name or volume name`,
        });
      }
    });
  });

export type GatewayConfig = z.output<typeof configSchema>;
export type IscsiConfig = GatewayConfig['iscsi'];
export type VolumeConfig = GatewayConfig['volumes'][number];
export type S3Config = GatewayConfig['s3'];
export type LibraryConfig = GatewayConfig['library'];
export type CacheConfig = GatewayConfig['cache'];
export type ApiConfig = GatewayConfig['api'];
export type NfsConfig = GatewayConfig['nfs'];
export type GlacierConfig = GatewayConfig['glacier'];
export type ShelfConfig = GatewayConfig['shelf'];
export type EncryptionConfig = GatewayConfig['encryption'];
