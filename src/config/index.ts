export { loadConfig, type LoadOptions, type LoadResult } from './load.ts';
export { ConfigError, type ConfigProblem } from './errors.ts';
export { usage } from './usage.ts';
export { formatSize } from './size.ts';
export type {
  ApiConfig,
  CacheConfig,
  EncryptionConfig,
  GatewayConfig,
  GlacierConfig,
  IscsiConfig,
  LibraryConfig,
  NfsConfig,
  S3Config,
  ShelfConfig,
  VolumeConfig,
} from './schema.ts';
