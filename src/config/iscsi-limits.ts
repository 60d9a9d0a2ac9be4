// The iSCSI session limits the target offers or accepts at login (RFC 7143
// section 13), and their defaults: here, below every feature, so that the
// configuration's built-in defaults and the fabric read the same values.

export interface TargetSessionLimits {
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  initialR2T: boolean;
  immediateData: boolean;
  /** Digests the target accepts, in order of preference. */
  headerDigest: ReadonlyArray<'CRC32C' | 'None'>;
  dataDigest: ReadonlyArray<'CRC32C' | 'None'>;
  maxConnections: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  /** Most commands queued per session (MaxCmdSN - ExpCmdSN + 1). */
  commandWindow: number;
}

export const defaultSessionLimits: TargetSessionLimits = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 1,
  initialR2T: false,
  immediateData: true,
  headerDigest: ['None', 'CRC32C'],
  dataDigest: ['None', 'CRC32C'],
  maxConnections: 1,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  commandWindow: 128,
};

/** Linux's LIO: login_timeout, 15 s by default (5 to 30). */
export const DEFAULT_LOGIN_TIMEOUT_MS = 15_000;

/** Caps on the portal's open connections. */
export interface ConnectionLimits {
  /** Connections open at once, from everyone. */
  readonly total: number;
  /** Connections open at once from one source address. */
  readonly perAddress: number;
}

/** A backup server with ten drives and a changer needs 11; these leave room for many, far below a process's descriptors. */
export const defaultConnectionLimits: ConnectionLimits = { total: 1024, perAddress: 64 };
