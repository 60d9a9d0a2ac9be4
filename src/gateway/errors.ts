/** Why the gateway could not start; the message says what to do about it. */
export type GatewayErrorCode =
  | 'DATA_DIR_UNUSABLE'
  | 'DATA_DIR_LOCKED'
  | 'S3_CREDENTIALS_MISSING'
  | 'S3_UNREACHABLE'
  | 'S3_BUCKET_UNUSABLE'
  | 'VOLUME_UNUSABLE'
  | 'PORT_IN_USE'
  | 'PORT_UNUSABLE'
  | 'API_TLS_UNUSABLE'
  | 'ENCRYPTION_KEYS_UNUSABLE';

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }
}
