// A logged-in connection handed to another thread. The portal's thread does
// the login (targets, CHAP, the session registry and TSIHs are its), then, for
// a target whose sessions another thread serves (IscsiTargetDefinition.host),
// stops reading, duplicates the socket's descriptor and gives it with the
// session's state to that thread, which goes on from the first full-feature
// PDU (AdoptedConnections, adopted-connections.ts). A Worker cannot be sent a
// net.Socket, but a descriptor is the process's: the other thread makes a
// socket of its own on it, and the portal's copy is closed without ending the
// connection.
// (Nothing here imports the target's definition, which names ConnectionHost.)
import type { TargetSessionLimits } from '../config/iscsi-limits.ts';
import type { OperationalParameters, SessionType } from './negotiation.ts';

/** A LoginAgreement (login.ts) as it crosses: its target by name. */
export interface WireAgreement {
  readonly sessionType: SessionType;
  readonly initiatorName: string;
  readonly initiatorAlias?: string;
  readonly targetName: string;
  readonly isid: Uint8Array;
  readonly tsih: number;
  readonly cid: number;
  readonly cmdSN: number;
  readonly params: OperationalParameters;
}

export interface ConnectionHandoff {
  /** A duplicate of the socket's descriptor: the host's to close. */
  readonly fd: number;
  readonly tsih: number;
  /** The StatSN the next response carries. */
  readonly statSN: number;
  readonly agreement: WireAgreement;
  readonly limits: TargetSessionLimits;
  readonly nopInIntervalMs: number;
  readonly nopInTimeoutMs: number;
}

/** The portal's view of a connection another thread serves. */
export interface AdoptedConnection {
  close(reason: string): void;
  /** Asks the initiator to log out (server shutdown). */
  requestLogout(): void;
  /** Resolves once the connection is closed, there. */
  readonly ended: Promise<void>;
}

/** A thread that serves the logged-in connections of some targets. */
export interface ConnectionHost {
  adopt(handoff: ConnectionHandoff): AdoptedConnection;
}
