// What the gateway tells the fabric about each iSCSI target it serves.
import type { ScsiTargetPort } from '../../scsi/types.ts';
import type { ConnectionLimits } from './connection-caps.ts';
import type { LoginPacing } from './login-guard.ts';

export interface ChapCredentials {
  /** CHAP_N the initiator must present. */
  readonly user: string;
  /** 12 to 16 bytes, as Windows and AWS require. */
  readonly secret: string;
}

export interface TargetAuth {
  /** One-way CHAP: the initiator proves it knows this secret. */
  readonly chap?: ChapCredentials;
  /** Mutual CHAP: the target answers the initiator's challenge with these. */
  readonly mutualChap?: ChapCredentials;
}

export interface IscsiTargetDefinition {
  /** iSCSI qualified name, e.g. iqn.2026-11.io.tapegateway:gw1-tapedrive-01. */
  readonly name: string;
  readonly alias?: string;
  /** Target portal group tag reported at login and in SendTargets. */
  readonly portalGroupTag?: number;
  readonly scsi: ScsiTargetPort;
  readonly auth?: TargetAuth;
  /** Initiator names allowed to log in and to see the target in SendTargets; absent = everyone. */
  readonly allowedInitiators?: readonly string[];
}

/** Values the target offers or accepts in login negotiation (RFC 7143 section 13). */
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

export interface IscsiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly targets: readonly IscsiTargetDefinition[];
  /** CHAP required for discovery sessions (SendTargets); absent = open discovery. */
  readonly discoveryAuth?: TargetAuth;
  readonly limits?: Partial<TargetSessionLimits>;
  /** Idle time before the target pings an initiator with a NOP-In (0: never); default 30 s. */
  readonly nopInIntervalMs?: number;
  /** How long a ping may go unanswered before the connection is dropped; default 30 s. */
  readonly nopInTimeoutMs?: number;
  /** How long a connection may take to log in before it is closed; default 15 s (0: for ever). */
  readonly loginTimeoutMs?: number;
  /** Caps on open connections, in total and per source address; default 1024 and 64. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** How failed CHAP logins from one address slow down its next ones (login-guard.ts); tests shorten it. */
  readonly loginPacing?: LoginPacing;
}
