// What the gateway tells the fabric about each iSCSI target it serves.
import type { ScsiTargetPort } from '../../scsi/types.ts';
import type { ConnectionLimits, TargetSessionLimits } from '../config/iscsi-limits.ts';
import type { ConnectionHost } from './connection-handoff.ts';
import type { LoginPacing } from './login-guard.ts';

// The session and connection limits are the configuration's (below every feature); the fabric's modules read them here.
export {
  DEFAULT_LOGIN_TIMEOUT_MS,
  defaultConnectionLimits,
  defaultSessionLimits,
  type ConnectionLimits,
  type TargetSessionLimits,
} from '../config/iscsi-limits.ts';

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
  /** Another thread that serves the target's sessions once logged in (connection-handoff.ts); absent: this one. */
  readonly host?: ConnectionHost;
}

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
