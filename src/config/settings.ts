// The settings a person can give by environment variable or command-line flag,
// one row each. The config file takes the same dotted paths as nested JSON and
// also what is too structured for one string (session limits, per-volume auth).
// Secrets have no flag: a command line is visible to every user in `ps`.

/** How the string from the environment or the command line becomes a value. */
export type SettingKind = 'string' | 'path' | 'integer' | 'boolean' | 'list' | 'volumes';

export interface Setting {
  /** Dotted path in the configuration, e.g. "iscsi.port". */
  readonly path: string;
  readonly env: string;
  /** Long flag without the dashes; absent for secrets. */
  readonly flag?: string;
  readonly kind: SettingKind;
  /** A valid value, shown in help and error messages. */
  readonly example: string;
  readonly description: string;
}

export const settings: readonly Setting[] = [
  { path: 'dataDir', env: 'GATEWAY_DATA_DIR', flag: 'data-dir', kind: 'path', example: '/var/lib/tape-gateway', description: 'directory for the catalog, volumes, cache and the embedded S3 store (default ./data)' },
  { path: 'gatewayName', env: 'GATEWAY_NAME', flag: 'name', kind: 'string', example: 'gw1', description: 'name of this gateway, part of every target name' },
  { path: 'logLevel', env: 'GATEWAY_LOG_LEVEL', flag: 'log-level', kind: 'string', example: 'debug', description: 'fatal, error, warn, info, debug, trace or silent' },
  { path: 'iscsi.host', env: 'GATEWAY_ISCSI_HOST', flag: 'iscsi-host', kind: 'string', example: '0.0.0.0', description: 'IP address the iSCSI portal listens on' },
  { path: 'iscsi.port', env: 'GATEWAY_ISCSI_PORT', flag: 'iscsi-port', kind: 'integer', example: '3260', description: 'TCP port of the iSCSI portal (0 picks a free one)' },
  { path: 'iscsi.iqnPrefix', env: 'GATEWAY_IQN_PREFIX', flag: 'iqn-prefix', kind: 'string', example: 'iqn.2026-11.com.example', description: 'IQN before the ":" of every target name' },
  { path: 'iscsi.allowedInitiators', env: 'GATEWAY_ALLOWED_INITIATORS', flag: 'allow-initiator', kind: 'list', example: 'iqn.1993-08.org.debian:01:backup1', description: 'initiator names allowed to log in (comma-separated; the flag repeats); unset = all' },
  { path: 'iscsi.loginTimeout', env: 'GATEWAY_ISCSI_LOGIN_TIMEOUT', flag: 'iscsi-login-timeout', kind: 'integer', example: '15', description: 'seconds a connection may take to log in before it is closed (as LIO)' },
  { path: 'iscsi.connectionLimit', env: 'GATEWAY_ISCSI_CONNECTION_LIMIT', flag: 'iscsi-connection-limit', kind: 'integer', example: '1024', description: 'iSCSI connections open at once; more are closed at once (keep it well below the open-files limit, ulimit -n)' },
  { path: 'iscsi.connectionLimitPerAddress', env: 'GATEWAY_ISCSI_CONNECTION_LIMIT_PER_ADDRESS', flag: 'iscsi-connection-limit-per-address', kind: 'integer', example: '64', description: 'iSCSI connections open at once from one source address' },
  { path: 'iscsi.auth.chap.user', env: 'GATEWAY_CHAP_USER', flag: 'chap-user', kind: 'string', example: 'backup', description: 'CHAP name initiators log in with' },
  { path: 'iscsi.auth.chap.secret', env: 'GATEWAY_CHAP_SECRET', kind: 'string', example: 'initiator-secret', description: 'CHAP secret initiators prove (12 bytes or more)' },
  { path: 'iscsi.auth.mutualChap.user', env: 'GATEWAY_MUTUAL_CHAP_USER', flag: 'mutual-chap-user', kind: 'string', example: 'gateway', description: 'CHAP name the gateway answers with (mutual CHAP)' },
  { path: 'iscsi.auth.mutualChap.secret', env: 'GATEWAY_MUTUAL_CHAP_SECRET', kind: 'string', example: 'gateway-secret', description: 'CHAP secret the gateway proves (mutual CHAP)' },
  { path: 'iscsi.discoveryAuth.chap.user', env: 'GATEWAY_DISCOVERY_CHAP_USER', flag: 'discovery-chap-user', kind: 'string', example: 'discover', description: 'CHAP name for discovery sessions' },
  { path: 'iscsi.discoveryAuth.chap.secret', env: 'GATEWAY_DISCOVERY_CHAP_SECRET', kind: 'string', example: 'discovery-secret', description: 'CHAP secret for discovery sessions' },
  { path: 'iscsi.discoveryAuth.mutualChap.user', env: 'GATEWAY_DISCOVERY_MUTUAL_CHAP_USER', flag: 'discovery-mutual-chap-user', kind: 'string', example: 'gateway', description: 'CHAP name the gateway answers discovery with' },
  { path: 'iscsi.discoveryAuth.mutualChap.secret', env: 'GATEWAY_DISCOVERY_MUTUAL_CHAP_SECRET', kind: 'string', example: 'gateway-discovery', description: 'CHAP secret the gateway proves in discovery' },
  { path: 'volumes', env: 'GATEWAY_VOLUMES', flag: 'volume', kind: 'volumes', example: 'scratch=1GiB', description: 'block volumes as name=size, or name=size:cached (stored unless it says cached; comma-separated; the flag repeats); replaces the default list' },
  { path: 'library.drives', env: 'GATEWAY_LIBRARY_DRIVES', flag: 'drives', kind: 'integer', example: '10', description: 'tape drives in the library (1 to 64)' },
  { path: 'library.storageSlots', env: 'GATEWAY_LIBRARY_SLOTS', flag: 'slots', kind: 'integer', example: '1600', description: 'storage slots in the library' },
  { path: 'library.importExportSlots', env: 'GATEWAY_LIBRARY_IMPORT_EXPORT_SLOTS', flag: 'import-export-slots', kind: 'integer', example: '1600', description: 'import/export (mail) slots in the library' },
  { path: 'library.targets', env: 'GATEWAY_LIBRARY_TARGETS', flag: 'library-targets', kind: 'string', example: 'single', description: '"per-device" (a target per changer and drive, as AWS) or "single" (one target, changer at LUN 0, drives at LUN 1 and up)' },
  { path: 'library.mediaSuffix', env: 'GATEWAY_LIBRARY_MEDIA_SUFFIX', flag: 'media-suffix', kind: 'string', example: 'L5', description: 'LTO media ID ending generated barcodes' },
  { path: 'library.minTapeSize', env: 'GATEWAY_LIBRARY_MIN_TAPE_SIZE', flag: 'min-tape-size', kind: 'string', example: '100GiB', description: 'smallest cartridge the CLI may create' },
  { path: 'library.maxTapeSize', env: 'GATEWAY_LIBRARY_MAX_TAPE_SIZE', flag: 'max-tape-size', kind: 'string', example: '15TiB', description: 'largest cartridge the CLI may create' },
  { path: 'library.segmentSize', env: 'GATEWAY_LIBRARY_SEGMENT_SIZE', flag: 'segment-size', kind: 'string', example: '64MiB', description: 'size of the objects a cartridge is stored in' },
  { path: 'cache.size', env: 'GATEWAY_CACHE_SIZE', flag: 'cache-size', kind: 'string', example: '64GiB', description: 'local disk the cache may fill (under the data directory)' },
  { path: 'cache.uploadBuffer', env: 'GATEWAY_UPLOAD_BUFFER', flag: 'upload-buffer', kind: 'string', example: '16GiB', description: 'data not yet uploaded above which writers are slowed; below cache.size' },
  { path: 'cache.uploadQuietMs', env: 'GATEWAY_UPLOAD_QUIET_MS', flag: 'upload-quiet-ms', kind: 'integer', example: '1000', description: 'uploads wait until reads and writes have been quiet this long (0: they never wait)' },
  { path: 'cache.uploadMaxDeferMs', env: 'GATEWAY_UPLOAD_MAX_DEFER_MS', flag: 'upload-max-defer-ms', kind: 'integer', example: '60000', description: 'longest an upload waits for quiet; it also goes ahead once a quarter of the upload buffer is in use' },
  { path: 'nfs.host', env: 'GATEWAY_NFS_HOST', flag: 'nfs-host', kind: 'string', example: '0.0.0.0', description: 'IP address the NFS server (NFS, MOUNT and the port mapper) listens on' },
  { path: 'nfs.port', env: 'GATEWAY_NFS_PORT', flag: 'nfs-port', kind: 'integer', example: '2049', description: 'TCP port of NFSv3 (0 picks a free one)' },
  { path: 'nfs.mountPort', env: 'GATEWAY_NFS_MOUNT_PORT', flag: 'nfs-mount-port', kind: 'integer', example: '20048', description: 'TCP port of the MOUNT protocol (0 picks a free one)' },
  { path: 'nfs.portmap', env: 'GATEWAY_NFS_PORTMAP', flag: 'nfs-portmap', kind: 'boolean', example: 'false', description: 'run a port mapper so clients find NFS and MOUNT without port= and mountport= options' },
  { path: 'nfs.portmapPort', env: 'GATEWAY_NFS_PORTMAP_PORT', flag: 'nfs-portmap-port', kind: 'integer', example: '111', description: "the port mapper's TCP port (111 needs root and no rpcbind running; without it clients name the ports)" },
  { path: 'nfs.initialShare', env: 'GATEWAY_NFS_INITIAL_SHARE', flag: 'initial-share', kind: 'string', example: 'files', description: 'share created on the first start, on the gateway\'s bucket under the prefix NAME/ ("" for none)' },
  { path: 'api.host', env: 'GATEWAY_API_HOST', flag: 'api-host', kind: 'string', example: '127.0.0.1', description: 'address of the management API (the CLI talks to it)' },
  { path: 'api.port', env: 'GATEWAY_API_PORT', flag: 'api-port', kind: 'integer', example: '7480', description: 'port of the management API (0 picks a free one, written to api.json in the data directory)' },
  { path: 'api.tls.certificate', env: 'GATEWAY_API_TLS_CERT', flag: 'api-tls-cert', kind: 'path', example: '/etc/tape-gateway/api.crt', description: 'PEM certificate (and chain) the management API serves HTTPS with; needed when api.host is not a loopback address' },
  { path: 'api.tls.key', env: 'GATEWAY_API_TLS_KEY', flag: 'api-tls-key', kind: 'path', example: '/etc/tape-gateway/api.key', description: "PEM private key of the management API's certificate" },
  { path: 's3.endpoint', env: 'GATEWAY_S3_ENDPOINT', flag: 's3-endpoint', kind: 'string', example: 'https://s3.eu-west-1.amazonaws.com', description: '"embedded" (a local S3 server under the data directory) or the URL of an S3 endpoint' },
  { path: 's3.region', env: 'GATEWAY_S3_REGION', flag: 's3-region', kind: 'string', example: 'eu-west-1', description: 'S3 region' },
  { path: 's3.bucket', env: 'GATEWAY_S3_BUCKET', flag: 's3-bucket', kind: 'string', example: 'my-tape-gateway', description: 'bucket for cartridges and snapshots; created at start-up if missing' },
  { path: 's3.prefix', env: 'GATEWAY_S3_PREFIX', flag: 's3-prefix', kind: 'string', example: 'site-a/', description: 'key prefix for every object the gateway writes' },
  { path: 's3.forcePathStyle', env: 'GATEWAY_S3_FORCE_PATH_STYLE', flag: 's3-force-path-style', kind: 'boolean', example: 'true', description: 'path-style URLs (MinIO, Ceph RGW); default true for embedded, false otherwise' },
  { path: 's3.accountId', env: 'GATEWAY_S3_ACCOUNT_ID', flag: 's3-account-id', kind: 'string', example: '123456789012', description: 'AWS account id: at start-up the gateway warns if the account does not block public access to buckets' },
  { path: 's3.serverSideEncryption', env: 'GATEWAY_S3_SSE', flag: 's3-sse', kind: 'string', example: 'SSE-KMS', description: '"none" (the bucket\'s default), "SSE-S3" (keys S3 manages) or "SSE-KMS" (s3.kmsKeyArn): asked of S3 for every object the gateway writes' },
  { path: 's3.kmsKeyArn', env: 'GATEWAY_S3_KMS_KEY_ARN', flag: 's3-kms-key-arn', kind: 'string', example: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', description: 'the KMS key of SSE-KMS, by its ARN' },
  { path: 's3.requestThread', env: 'GATEWAY_S3_REQUEST_THREAD', flag: 's3-request-thread', kind: 'string', example: 'main', description: '"worker": the cache\'s S3 requests (the AWS SDK, its HTTP) run in a thread of their own; "main": on the thread of the iSCSI commands' },
  { path: 's3.credentials.accessKeyId', env: 'GATEWAY_S3_ACCESS_KEY_ID', kind: 'string', example: 'AKIAIOSFODNN7EXAMPLE', description: 'S3 access key; unset = the AWS SDK default chain (AWS_* variables, profiles, instance roles)' },
  { path: 's3.credentials.secretAccessKey', env: 'GATEWAY_S3_SECRET_ACCESS_KEY', kind: 'string', example: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', description: 'S3 secret key' },
  { path: 'encryption.keyFile', env: 'GATEWAY_ENCRYPTION_KEY_FILE', flag: 'encryption-key-file', kind: 'path', example: '/etc/tape-gateway/keys', description: 'client-side encryption: a file (mode 0600) of 256-bit keys, one a line in base64 ("openssl rand -base64 32"), the first for new writes' },
  { path: 'encryption.keys', env: 'GATEWAY_ENCRYPTION_KEYS', kind: 'string', example: 'q0VLo0wPq3c3XvJm0k6y1Gk8uM2v0x5T1b1cGm2mZ2E=', description: 'client-side encryption keys as in the key file, comma-separated, instead of it' },
  { path: 'glacier.endpoint', env: 'GATEWAY_GLACIER_ENDPOINT', flag: 'glacier-endpoint', kind: 'string', example: 'aws', description: '"embedded" (a local Glacier endpoint under the data directory), "aws" (Glacier in glacier.region) or the URL of a Glacier endpoint' },
  { path: 'glacier.region', env: 'GATEWAY_GLACIER_REGION', flag: 'glacier-region', kind: 'string', example: 'eu-west-1', description: 'Glacier region (default: s3.region)' },
  { path: 'glacier.credentials.accessKeyId', env: 'GATEWAY_GLACIER_ACCESS_KEY_ID', kind: 'string', example: 'AKIAIOSFODNN7EXAMPLE', description: 'Glacier access key; unset = the S3 credentials' },
  { path: 'glacier.credentials.secretAccessKey', env: 'GATEWAY_GLACIER_SECRET_ACCESS_KEY', kind: 'string', example: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', description: 'Glacier secret key' },
  { path: 'glacier.jobDelays', env: 'GATEWAY_GLACIER_JOB_DELAYS', flag: 'glacier-job-delays', kind: 'string', example: 'Expedited=300,Standard=14400,Bulk=43200', description: 'embedded Glacier only: seconds until a retrieval job completes, per tier (or one number for all)' },
  { path: 'shelf.glacierVault', env: 'GATEWAY_SHELF_GLACIER_VAULT', flag: 'glacier-vault', kind: 'string', example: 'gw1-glacier', description: 'Glacier vault of the built-in GLACIER pool (default: the S3 storage class GLACIER with glacier.endpoint aws, else <gatewayName>-glacier)' },
  { path: 'shelf.deepArchiveVault', env: 'GATEWAY_SHELF_DEEP_ARCHIVE_VAULT', flag: 'deep-archive-vault', kind: 'string', example: 'gw1-deep-archive', description: 'Glacier vault of the built-in DEEP_ARCHIVE pool (default: the S3 storage class DEEP_ARCHIVE with glacier.endpoint aws, else <gatewayName>-deep-archive)' },
  { path: 'shelf.retrievalTier', env: 'GATEWAY_SHELF_RETRIEVAL_TIER', flag: 'retrieval-tier', kind: 'string', example: 'Bulk', description: 'retrieval tier when a request names none: Expedited, Standard or Bulk' },
];

/** Where the configuration file is named, outside the table because it selects a layer. */
export const configFileEnv = 'GATEWAY_CONFIG';
export const configFileFlag = 'config';
