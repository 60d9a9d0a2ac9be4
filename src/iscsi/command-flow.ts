// The SCSI commands of a session (RFC 7143 sections 4.2, 11.3-11.8): each
// command admitted in CmdSN order becomes a task; a write's data is gathered
// (immediate, unsolicited, then solicited by R2T) into a buffer lent from a
// pool, and the task runs once all of it is there and every command before it
// has run; the answer goes back as Data-In (status in the last PDU when it can)
// or a SCSI Response.
import type { Logger } from 'pino';
import { Asc, buildSense, internalTargetFailure, scsiError, SenseKey, type ScsiError } from '../../scsi/sense.ts';
import { Status, type Nexus, type ScsiCommand, type ScsiResponse, type TaskAttribute } from '../../scsi/types.ts';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { releaseOnce } from '../buffers/release-once.ts';
import type { CommandWindow } from './command-window.ts';
import type { OperationalParameters } from './negotiation.ts';
import {
  bufferOffsetOf,
  decodeDataOut,
  decodeScsiCommand,
  encodeDataIn,
  encodeR2T,
  encodeScsiResponse,
  expectedDataTransferLengthOf,
  initiatorTaskTagOf,
  isWriteCommand,
  Opcode,
  opcodeOf,
  PduError,
  RejectReason,
  targetTransferTagOf,
  type RawPdu,
  type ScsiCommandPdu,
} from './pdu.ts';
import type { SessionConnection } from './session-connection.ts';
import type { IscsiTargetDefinition } from './target-definition.ts';
import { WriteCollector } from './write-collector.ts';

/** Largest write we buffer for one command; larger ones are refused before any allocation. */
const MAX_WRITE_TRANSFER = 64 * 1024 * 1024;
/**
 * Responses are queued without waiting for the socket; past this many unsent
 * bytes the command window stops widening until they drain, so an initiator
 * that does not read its responses cannot make us queue more of them.
 */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

const ATTRIBUTES: readonly TaskAttribute[] = ['untagged', 'simple', 'ordered', 'head-of-queue', 'aca'];
const EMPTY = Buffer.alloc(0);
const DATA_PHASE_ERROR = 0x4b00;

export interface Task {
  readonly itt: number;
  readonly pdu: ScsiCommandPdu;
  /** Gathers a write's Data-Out; set right after the task is registered, for a write that expects data. */
  collector: WriteCollector | undefined;
  /** Refused before execution (transport error or oversized transfer): answer this sense. */
  failure?: ScsiError;
  /** Data-In and R2T PDUs sent, for ExpDataSN. */
  dataPdus: number;
  aborted: boolean;
  execution?: Promise<void>;
  /** Holds of the command's data buffer by the logical unit not yet released (see ScsiCommand.holdDataOut). */
  holds: number;
  finished: boolean;
}

/**
 * The pool write commands' data buffers are lent from (one a server), from 4 KiB
 * up rather than the pool's usual 64 KiB: every 4 KiB write otherwise had a fresh
 * ArrayBuffer for its data (in the volume bench's busy case, 4 KiB random writes
 * at QD32 on four volumes, 76,000 of them in 20 s), and such dead memory waits for
 * V8's next full collection, which external memory calls for only once tens of MiB
 * of it have piled up: that pile was most of the busy case's RSS above its goal.
 */
export function writeBufferPool(): BufferPool {
  return new BufferPool({ smallest: 4096 });
}

export interface CommandFlowOptions {
  readonly nexus: Nexus;
  /** Absent in a discovery session, which takes no SCSI commands. */
  readonly target: IscsiTargetDefinition | undefined;
  readonly params: OperationalParameters;
  readonly window: CommandWindow;
  readonly connection: SessionConnection;
  readonly logger: Logger;
  /** A Target Transfer Tag for the next R2T sequence (the session's, shared with text responses). */
  readonly allocateTtt: () => number;
  /** Where write commands' data buffers are lent from, from the command's arrival until it finishes (the server's: see SessionServices). */
  readonly writeBuffers: BufferPool;
}

export class CommandFlow {
  private readonly nexus: Nexus;
  private readonly target: IscsiTargetDefinition | undefined;
  private readonly params: OperationalParameters;
  private readonly window: CommandWindow;
  private readonly connection: SessionConnection;
  private readonly logger: Logger;
  private readonly allocateTtt: () => number;
  private readonly writeBuffers: BufferPool;
  private readonly tasks = new Map<number, Task>();
  /** Non-immediate commands in CmdSN order, waiting for their data or for those before them. */
  private readonly ordered: Task[] = [];
  /** Window grants held back until the socket drains (MAX_UNSENT_BYTES). */
  private withheldGrants = 0;
  /** Lent for a write command's immediate data; the reader frames the command right after placing it, so there is at most one. */
  private placed: Buffer | undefined;
  private closed = false;

  constructor(options: CommandFlowOptions) {
    this.nexus = options.nexus;
    this.target = options.target;
    this.params = options.params;
    this.window = options.window;
    this.connection = options.connection;
    this.logger = options.logger;
    this.allocateTtt = options.allocateTtt;
    this.writeBuffers = options.writeBuffers;
  }

  /** The task of this session with that Initiator Task Tag, if it is still running. */
  task(itt: number): Task | undefined {
    return this.tasks.get(itt);
  }

  onScsiCommand(raw: RawPdu, failure?: ScsiError): void {
    const storage = this.claimPlaced(raw);
    let pdu: ScsiCommandPdu;
    try {
      if (!this.target) throw new PduError(RejectReason.ProtocolError, 'SCSI command in a discovery session');
      pdu = decodeScsiCommand(raw);
      if (pdu.read && pdu.write) throw new PduError(RejectReason.CommandNotSupported, 'bidirectional commands are not supported');
      if (pdu.data.length > 0 && !pdu.write && !failure)
        throw new PduError(RejectReason.ProtocolError, 'immediate data on a command without the W bit');
      if (pdu.data.length > 0 && !this.params.immediateData)
        throw new PduError(RejectReason.ProtocolError, 'immediate data not negotiated');
      if (this.tasks.has(pdu.itt)) throw new PduError(RejectReason.TaskInProgress, `task tag 0x${pdu.itt.toString(16)} already in use`);
    } catch (error) {
      if (storage) this.writeBuffers.give(storage);
      throw error;
    }
    this.window.admit(pdu.cmdSN, pdu.immediate, () => this.startTask(pdu, failure, storage));
  }

  onDataOut(raw: RawPdu): void {
    const pdu = decodeDataOut(raw);
    const task = this.tasks.get(pdu.itt);
    // Data for a command that was refused early or aborted is dropped, as is data after a digest error.
    if (!task || task.aborted || task.failure || task.execution) return;
    if (!task.collector) throw new PduError(RejectReason.ProtocolError, 'Data-Out for a command that expects no data');
    try {
      task.collector.accept(pdu);
    } catch (error) {
      // The rest of this command's data can no longer line up: end it, the PDU is rejected.
      task.failure = scsiError(SenseKey.AbortedCommand, DATA_PHASE_ERROR);
      this.dispatchReady();
      throw error;
    }
    this.sendR2Ts(task);
    if (task.collector.complete) this.dispatchReady();
  }

  /** A command or Data-Out whose data digest failed (already rejected): its command ends with `failure`. */
  onBadData(raw: RawPdu, failure: ScsiError): void {
    const opcode = opcodeOf(raw.bhs);
    if (opcode === Opcode.ScsiCommand) {
      this.onScsiCommand({ ...raw, data: EMPTY }, failure);
    } else if (opcode === Opcode.DataOut) {
      const task = this.tasks.get(decodeDataOut(raw).itt);
      if (task && !task.failure) {
        task.failure = failure;
        this.dispatchReady();
      }
    }
  }

  /**
   * Where the reader should copy a PDU's data straight off the socket: a write
   * command's immediate data into the start of a buffer lent for its whole
   * transfer, a Data-Out's into the slice of its command's buffer it fills.
   */
  dataDestination(bhs: Buffer, dataLength: number): Buffer | undefined {
    const opcode = opcodeOf(bhs);
    if (opcode === Opcode.ScsiCommand) return this.placeImmediate(bhs, dataLength);
    if (opcode !== Opcode.DataOut) return undefined;
    const task = this.tasks.get(initiatorTaskTagOf(bhs));
    if (!task?.collector || task.aborted || task.failure || task.execution) return undefined;
    return task.collector.destination(targetTransferTagOf(bhs), bufferOffsetOf(bhs), dataLength);
  }

  /** Aborts the tasks that match: no response is sent; running ones are waited for. */
  async abortTasks(filter: (task: Task) => boolean): Promise<void> {
    const running: Promise<void>[] = [];
    for (const task of [...this.tasks.values()].filter(filter)) {
      task.aborted = true;
      if (task.execution) {
        running.push(task.execution);
      } else {
        const queued = this.ordered.indexOf(task);
        if (queued >= 0) this.ordered.splice(queued, 1);
        this.finish(task);
      }
    }
    await Promise.all(running);
    this.dispatchReady();
  }

  /** The session ended: every task is dropped, and none starts or answers any more. */
  close(): void {
    this.closed = true;
    for (const task of this.tasks.values()) task.aborted = true;
    this.tasks.clear();
    this.ordered.length = 0;
  }

  private startTask(pdu: ScsiCommandPdu, failure: ScsiError | undefined, storage: Buffer | undefined): void {
    if (this.closed) return;
    const task: Task = { itt: pdu.itt, pdu, collector: undefined, failure, dataPdus: 0, aborted: false, holds: 0, finished: false };
    if (pdu.write && pdu.expectedDataTransferLength > MAX_WRITE_TRANSFER) {
      task.failure ??= scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_CDB);
    }
    this.tasks.set(pdu.itt, task);
    if (pdu.write && pdu.expectedDataTransferLength > 0 && !task.failure) {
      const length = pdu.expectedDataTransferLength;
      const whole = pdu.data.length === length && !this.writeBuffers.pools(length);
      const buffer = storage ?? (whole ? pdu.data : this.writeBuffers.take(length));
      task.collector = new WriteCollector(buffer, pdu.data, pdu.final, this.params, this.allocateTtt);
      this.sendR2Ts(task);
    } else if (storage) {
      this.writeBuffers.give(storage);
    }
    if (pdu.immediate) {
      if (this.ready(task)) this.execute(task);
      else this.ordered.unshift(task);
    } else {
      this.ordered.push(task);
    }
    this.dispatchReady();
  }

  private ready(task: Task): boolean {
    return task.failure !== undefined || !task.collector || task.collector.complete;
  }

  /** Runs, in order, the queued commands whose data has all arrived. */
  private dispatchReady(): void {
    for (let next = this.ordered[0]; next && this.ready(next); next = this.ordered[0]) {
      this.ordered.shift();
      this.execute(next);
    }
  }

  private placeImmediate(bhs: Buffer, dataLength: number): Buffer | undefined {
    const expected = expectedDataTransferLengthOf(bhs);
    // Smaller data is read into a buffer of its own, left to the collector.
    if (!isWriteCommand(bhs) || dataLength > expected || !this.writeBuffers.pools(expected)) return undefined;
    if (this.placed) this.writeBuffers.give(this.placed);
    this.placed = this.writeBuffers.take(expected);
    return this.placed.subarray(0, dataLength);
  }

  /** The buffer placeImmediate() lent for this command, if its data is in it. */
  private claimPlaced(raw: RawPdu): Buffer | undefined {
    const placed = this.placed;
    this.placed = undefined;
    if (placed && raw.data.length > 0 && raw.data.buffer === placed.buffer && raw.data.byteOffset === placed.byteOffset) return placed;
    if (placed) this.writeBuffers.give(placed);
    return undefined;
  }

  private sendR2Ts(task: Task): void {
    for (const burst of task.collector!.requestBursts()) {
      task.dataPdus++;
      this.connection.send((seq) =>
        encodeR2T(
          { lun: task.pdu.lun, itt: task.itt, ttt: burst.ttt, r2tSN: burst.r2tSN, bufferOffset: burst.offset, desiredLength: burst.length },
          seq,
        ),
      );
    }
  }

  private execute(task: Task): void {
    const pdu = task.pdu;
    const storage = task.collector?.data;
    const command: ScsiCommand = {
      nexus: this.nexus,
      lun: pdu.lun,
      cdb: pdu.cdb,
      dataOut: storage ?? EMPTY,
      holdDataOut: storage && this.writeBuffers.pools(storage.length) ? () => this.hold(task) : undefined,
      dataInLength: pdu.read ? pdu.expectedDataTransferLength : 0,
      attribute: ATTRIBUTES[pdu.attribute] ?? 'simple',
      tag: pdu.itt,
    };
    let outcome: Promise<ScsiResponse>;
    try {
      outcome = task.failure
        ? Promise.resolve({ status: Status.CheckCondition, sense: buildSense(task.failure.sense) })
        : this.target!.scsi.execute(command);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    task.execution = outcome.then(
      (response) => this.complete(task, response),
      (error: unknown) => {
        this.logger.error({ err: error, itt: task.itt }, 'SCSI command failed inside the target');
        this.complete(task, { status: Status.CheckCondition, sense: buildSense(internalTargetFailure().sense) });
      },
    );
  }

  private complete(task: Task, response: ScsiResponse): void {
    if (!task.aborted && !this.closed) this.sendResponse(task, response);
    else response.release?.();
    this.finish(task);
  }

  /** The task is over and nothing runs for it any more (its execution, if any, has settled). */
  private finish(task: Task): void {
    if (this.tasks.get(task.itt) === task) this.tasks.delete(task.itt);
    task.finished = true;
    this.giveBackIfUnheld(task);
    if (!task.pdu.immediate) this.grant();
  }

  /** One hold of the task's data buffer by the logical unit; the function returned ends it. */
  private hold(task: Task): () => void {
    task.holds++;
    return releaseOnce(() => {
      task.holds--;
      this.giveBackIfUnheld(task);
    });
  }

  /** The command's data buffer goes back to the pool once the command is over and nothing holds it. */
  private giveBackIfUnheld(task: Task): void {
    if (task.collector && task.finished && task.holds === 0) this.writeBuffers.give(task.collector.data);
  }

  /** Widens the command window by the command that finished, once the socket's backlog allows it. */
  private grant(): void {
    if (this.withheldGrants === 0 && this.connection.unsent() <= MAX_UNSENT_BYTES) return this.window.completed();
    if (this.withheldGrants++ > 0) return;
    void this.connection.drained().then(() => {
      for (; this.withheldGrants > 0; this.withheldGrants--) this.window.completed();
    });
  }

  private sendResponse(task: Task, response: ScsiResponse): void {
    const { pdu } = task;
    const expected = pdu.expectedDataTransferLength;
    let underflow = 0;
    let overflow = 0;
    const data = pdu.read ? (response.data ?? EMPTY) : EMPTY;
    const sent = Math.min(data.length, expected);
    if (pdu.read) {
      if (data.length < expected) underflow = expected - data.length;
      else overflow = data.length - expected;
    } else if (pdu.write && response.dataOutLength !== undefined) {
      if (response.dataOutLength < expected) underflow = expected - response.dataOutLength;
      else overflow = response.dataOutLength - expected;
    } else if (!pdu.write && !pdu.read && expected > 0) {
      underflow = expected;
    }
    const collapse = (response.status === Status.Good || response.status === Status.ConditionMet) && !response.sense;
    if (sent === 0) response.release?.();
    if (sent > 0) {
      const segment = this.params.maxRecvDataSegmentLength;
      const burst = this.params.maxBurstLength;
      for (let offset = 0; offset < sent;) {
        const burstEnd = Math.min(sent, (Math.floor(offset / burst) + 1) * burst);
        const end = Math.min(burstEnd, offset + segment);
        const last = end === sent;
        const dataSN = task.dataPdus++;
        const status = last && collapse ? { status: response.status, underflow, overflow } : undefined;
        const bufferOffset = offset;
        this.connection.send(
          (seq) =>
            encodeDataIn({ final: end === burstEnd, itt: task.itt, dataSN, bufferOffset, dataLength: end - bufferOffset, status }, seq),
          offset === 0 && end === data.length ? data : data.subarray(offset, end),
          status !== undefined,
          end === sent ? response.release : undefined,
        );
        offset = end;
      }
      if (collapse) return;
    }
    const sense = response.sense && response.status === Status.CheckCondition ? response.sense : undefined;
    let payload = EMPTY;
    if (sense) {
      payload = Buffer.allocUnsafe(2 + sense.length);
      payload.writeUInt16BE(sense.length, 0);
      sense.copy(payload, 2);
    }
    this.connection.send(
      (seq) =>
        encodeScsiResponse(
          {
            itt: task.itt,
            status: response.status,
            response: 0,
            underflow,
            overflow,
            expDataSN: task.dataPdus,
            dataLength: payload.length,
          },
          seq,
        ),
      payload,
      true,
    );
  }
}
