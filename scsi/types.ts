// The contract between a transport (the iSCSI fabric) and the SCSI core.
// The fabric collects a whole command (CDB + all Data-Out) and hands it to a
// ScsiTarget; the core answers status, Data-In and sense. Neither side knows
// the other's internals.

export enum Status {
  Good = 0x00,
  CheckCondition = 0x02,
  ConditionMet = 0x04,
  Busy = 0x08,
  ReservationConflict = 0x18,
  TaskSetFull = 0x28,
  TaskAborted = 0x40,
}

/** SAM task attributes, as carried by the transport. */
export type TaskAttribute = 'untagged' | 'simple' | 'ordered' | 'head-of-queue' | 'aca';

/**
 * The I_T nexus a command arrived on: who is asking (SPC-4 "initiator port")
 * and through which target port. Reservations and unit attentions are kept
 * per nexus, so `key` must be stable for the life of the session.
 */
export interface Nexus {
  /** Unique per I_T nexus, e.g. "iqn.x,i,0x23d000000001|iqn.y,t,0x1". */
  readonly key: string;
  /** iSCSI initiator port name: "<initiator name>,i,0x<ISID>". */
  readonly initiatorPort: string;
  /** iSCSI initiator name alone (used for TransportID in persistent reservations). */
  readonly initiatorName: string;
  /** Relative target port identifier (VPD 83h, 1-based). */
  readonly relativeTargetPort: number;
  /** Target port name "<target name>,t,0x<TPGT>". */
  readonly targetPort: string;
}

export interface ScsiCommand {
  readonly nexus: Nexus;
  /** 8-byte LUN field as sent on the wire. */
  readonly lun: Buffer;
  /** CDB, 6 to 16 bytes (more with an additional CDB AHS). */
  readonly cdb: Buffer;
  /** Bytes the initiator sent (WRITE-type commands); empty when none. */
  readonly dataOut: Buffer;
  /**
   * Keeps dataOut's buffer past the command's end, for a unit that would
   * otherwise copy it: the transport does not reuse it until every function
   * returned has been called. Absent when the buffer is not the transport's to
   * lend; then what must outlive the command is copied.
   */
  readonly holdDataOut?: () => () => void;
  /** Expected Data-In transfer length; the core may answer less, never more is sent. */
  readonly dataInLength: number;
  readonly attribute: TaskAttribute;
  /** Transport task tag, for logs and task management. */
  readonly tag: number;
}

export interface ScsiResponse {
  status: Status;
  /** Data-In; the transport truncates to dataInLength and reports the residual. */
  data?: Buffer;
  /** Called by the transport once it has sent `data`, or never will: the data's buffer may then be reused. */
  release?: () => void;
  /** Sense data (fixed or descriptor format), only with CHECK CONDITION. */
  sense?: Buffer;
  /**
   * Bytes of dataOut the command's CDB called for, when it differs from what
   * the initiator sent; the transport reports the difference as a residual.
   */
  dataOutLength?: number;
}

/** Task management functions the transport passes down (SAM-5). */
export type TaskManagementFunction = 'abort-task-set' | 'clear-task-set' | 'lun-reset' | 'target-reset' | 'clear-aca' | 'i-t-nexus-loss';

/** A logical unit as the transport sees it. */
export interface LogicalUnit {
  execute(cmd: ScsiCommand): Promise<ScsiResponse>;
  /** A reset or nexus loss that concerns this LU (unit attention, reservation release…). */
  taskManagement(fn: TaskManagementFunction, nexus: Nexus): void;
  /** A new I_T nexus logged in: the LU starts it with a power-on unit attention. */
  nexusAdded?(nexus: Nexus): void;
}

/** What the transport needs from a target: its LUNs. */
export interface ScsiTargetPort {
  execute(cmd: ScsiCommand): Promise<ScsiResponse>;
  taskManagement(fn: TaskManagementFunction, nexus: Nexus, lun?: Buffer): void;
  /** A new I_T nexus logged in (power-on unit attention is reported once per nexus). */
  nexusAdded(nexus: Nexus): void;
  nexusRemoved(nexus: Nexus): void;
}
