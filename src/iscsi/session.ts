// A session in full feature phase (RFC 7143): SCSI commands with their data
// transfers, task management, NOP, text (SendTargets) and logout. One
// connection per session (MaxConnections=1, ErrorRecoveryLevel=0).
import type { Logger } from 'pino';
import { Asc, buildSense, internalTargetFailure, scsiError, SenseKey, ScsiError } from '../../scsi/sense.ts';
import { Status, type Nexus, type ScsiCommand, type ScsiResponse, type TaskAttribute, type TaskManagementFunction } from '../../scsi/types.ts';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { releaseOnce } from '../buffers/release-once.ts';
import { CommandWindow } from './command-window.ts';
import type { LoginAgreement } from './login.ts';
import {
  decodeDataOut,
  decodeLogoutRequest,
  decodeNopOut,
  decodeScsiCommand,
  decodeTaskManagement,
  decodeTextRequest,
  encodeDataIn,
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2T,
  encodeScsiResponse,
  encodeTaskManagementResponse,
  encodeTextResponse,
  LogoutReason,
  Opcode,
  opcodeOf,
  PduError,
  RejectReason,
  RESERVED_TAG,
  TaskFunction,
  TaskResponse,
  type RawPdu,
  type ScsiCommandPdu,
  type Sequence,
  type TaskManagementPdu,
  type TextRequestPdu,
} from './pdu.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { IscsiTargetDefinition } from './target-definition.ts';
import { decodeTextData, encodeTextData, type KeyValue } from './text.ts';
import { WriteCollector } from './write-collector.ts';

/** Largest write we buffer for one command; larger ones are refused before any allocation. */
const MAX_WRITE_TRANSFER = 64 * 1024 * 1024;
/** Write commands' data buffers, shared by every session: a buffer is lent from the command's arrival until it finishes. */
const writeBuffers = new BufferPool();
/**
 * Responses are queued without waiting for the socket; past this many unsent
 * bytes the command window stops widening until they drain, so an initiator
 * that does not read its responses cannot make us queue more of them.
 */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

const ATTRIBUTES: readonly TaskAttribute[] = ['untagged', 'simple', 'ordered', 'head-of-queue', 'aca'];
const EMPTY = Buffer.alloc(0);
const DATA_PHASE_ERROR = 0x4b00;
const PROTOCOL_SERVICE_CRC_ERROR = 0x4705;

/** What a session needs from its connection. */
export interface SessionConnection {
  /** Sends a PDU built for the given sequence numbers; `advanceStatSN` consumes a StatSN. */
  send(build: (seq: Sequence) => Buffer, data?: Buffer, advanceStatSN?: boolean, written?: () => void): void;
  /** Bytes sent but not yet taken by the kernel. */
  unsent(): number;
  /** Resolves once the unsent bytes have drained (or the connection closed). */
  drained(): Promise<void>;
  reject(reason: RejectReason, pdu: RawPdu): void;
  /** Ends the connection once what was queued has been written. */
  close(reason: string): void;
  /** "address:port,tpgt" of the portal the connection came in on. */
  readonly portal: string;
}

export interface SessionServices {
  readonly registry: SessionRegistry<Session>;
  readonly targets: () => readonly IscsiTargetDefinition[];
  readonly commandWindow: number;
  readonly logger: Logger;
}

interface Task {
  readonly itt: number;
  readonly pdu: ScsiCommandPdu;
  readonly collector?: WriteCollector;
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

interface TextContinuation {
  readonly ttt: number;
  remaining: Buffer;
}

export class Session {
  readonly tsih: number;
  readonly initiatorName: string;
  readonly isid: Buffer;
  readonly targetName: string | undefined;
  readonly nexus: Nexus;
  private readonly window: CommandWindow;
  private readonly tasks = new Map<number, Task>();
  /** Non-immediate commands in CmdSN order, waiting for their data or for those before them. */
  private readonly ordered: Task[] = [];
  private nextTtt = 1;
  /** Window grants held back until the socket drains (MAX_UNSENT_BYTES). */
  private withheldGrants = 0;
  private textContinuation: TextContinuation | undefined;
  /** Lent for a write command's immediate data; the reader frames the command right after placing it, so there is at most one. */
  private placed: Buffer | undefined;
  private closed = false;

  constructor(
    readonly agreement: LoginAgreement,
    tsih: number,
    private readonly connection: SessionConnection,
    private readonly services: SessionServices,
  ) {
    this.tsih = tsih;
    this.initiatorName = agreement.initiatorName;
    this.isid = agreement.isid;
    this.targetName = agreement.target?.name;
    this.window = new CommandWindow(agreement.cmdSN, services.commandWindow);
    const isid = agreement.isid.toString('hex');
    const tpgt = (agreement.target?.portalGroupTag ?? 1).toString(16).padStart(4, '0');
    const initiatorPort = `${agreement.initiatorName},i,0x${isid}`;
    const targetPort = `${this.targetName ?? ''},t,0x${tpgt}`;
    this.nexus = { key: `${initiatorPort}|${targetPort}`, initiatorPort, initiatorName: agreement.initiatorName, relativeTargetPort: 1, targetPort };
    agreement.target?.scsi.nexusAdded(this.nexus);
  }

  get sequence(): { expCmdSN: number; maxCmdSN: number } {
    return this.window.sequence;
  }

  private get params() {
    return this.agreement.params;
  }

  private get target(): IscsiTargetDefinition | undefined {
    return this.agreement.target;
  }

  /** One PDU of the full feature phase. Throws PduError for the connection to reject. */
  receive(pdu: RawPdu): void {
    const opcode = opcodeOf(pdu.bhs);
    switch (opcode) {
      case Opcode.ScsiCommand:
        return this.onScsiCommand(pdu);
      case Opcode.DataOut:
        return this.onDataOut(pdu);
      case Opcode.NopOut:
        return this.onNopOut(pdu);
      case Opcode.TaskManagementRequest:
        return this.onTaskManagement(decodeTaskManagement(pdu));
      case Opcode.TextRequest:
        return this.onText(decodeTextRequest(pdu));
      case Opcode.LogoutRequest:
        return this.onLogout(pdu);
      case Opcode.Snack:
        throw new PduError(RejectReason.ProtocolError, 'SNACK needs ErrorRecoveryLevel > 0');
      default:
        throw new PduError(RejectReason.CommandNotSupported, `opcode 0x${opcode.toString(16)} not supported`);
    }
  }

  /** A Data-Out or command PDU whose data digest failed (RFC 7143 section 7.8). */
  receiveWithBadData(pdu: RawPdu): void {
    this.connection.reject(RejectReason.DataDigestError, pdu);
    const opcode = opcodeOf(pdu.bhs);
    const crcError = scsiError(SenseKey.AbortedCommand, PROTOCOL_SERVICE_CRC_ERROR);
    if (opcode === Opcode.ScsiCommand) {
      this.onScsiCommand({ ...pdu, data: EMPTY }, crcError);
    } else if (opcode === Opcode.DataOut) {
      const task = this.tasks.get(decodeDataOut(pdu).itt);
      if (task && !task.failure) {
        task.failure = crcError;
        this.dispatchReady();
      }
    }
  }

  // ---- SCSI commands ------------------------------------------------------

  private onScsiCommand(raw: RawPdu, failure?: ScsiError): void {
    const storage = this.claimPlaced(raw);
    let pdu: ScsiCommandPdu;
    try {
      if (!this.target) throw new PduError(RejectReason.ProtocolError, 'SCSI command in a discovery session');
      pdu = decodeScsiCommand(raw);
      if (pdu.read && pdu.write) throw new PduError(RejectReason.CommandNotSupported, 'bidirectional commands are not supported');
      if (pdu.data.length > 0 && !pdu.write && !failure) throw new PduError(RejectReason.ProtocolError, 'immediate data on a command without the W bit');
      if (pdu.data.length > 0 && !this.params.immediateData) throw new PduError(RejectReason.ProtocolError, 'immediate data not negotiated');
      if (this.tasks.has(pdu.itt)) throw new PduError(RejectReason.TaskInProgress, `task tag 0x${pdu.itt.toString(16)} already in use`);
    } catch (error) {
      if (storage) writeBuffers.give(storage);
      throw error;
    }
    this.window.admit(pdu.cmdSN, pdu.immediate, () => this.startTask(pdu, failure, storage));
  }

  private startTask(pdu: ScsiCommandPdu, failure: ScsiError | undefined, storage: Buffer | undefined): void {
    if (this.closed) return;
    const task: Task = { itt: pdu.itt, pdu, failure, dataPdus: 0, aborted: false, holds: 0, finished: false };
    if (pdu.write && pdu.expectedDataTransferLength > MAX_WRITE_TRANSFER) {
      task.failure ??= scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_CDB);
    }
    this.tasks.set(pdu.itt, task);
    if (pdu.write && pdu.expectedDataTransferLength > 0 && !task.failure) {
      const length = pdu.expectedDataTransferLength;
      const whole = pdu.data.length === length && !writeBuffers.pools(length);
      const buffer = storage ?? (whole ? pdu.data : writeBuffers.take(length));
      const collector = new WriteCollector(buffer, pdu.data, pdu.final, this.params, () => this.allocateTtt());
      (task as { collector?: WriteCollector }).collector = collector;
      this.sendR2Ts(task);
    } else if (storage) {
      writeBuffers.give(storage);
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
    while (this.ordered.length > 0 && this.ready(this.ordered[0])) this.execute(this.ordered.shift()!);
  }

  private onDataOut(raw: RawPdu): void {
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

  /**
   * Where the reader should copy a PDU's data straight off the socket: a write
   * command's immediate data into the start of a buffer lent for its whole
   * transfer, a Data-Out's into the slice of its command's buffer it fills.
   */
  dataDestination(bhs: Buffer, dataLength: number): Buffer | undefined {
    const opcode = opcodeOf(bhs);
    if (opcode === Opcode.ScsiCommand) return this.placeImmediate(bhs, dataLength);
    if (opcode !== Opcode.DataOut) return undefined;
    const task = this.tasks.get(bhs.readUInt32BE(16));
    if (!task?.collector || task.aborted || task.failure || task.execution) return undefined;
    return task.collector.destination(bhs.readUInt32BE(20), bhs.readUInt32BE(40), dataLength);
  }

  private placeImmediate(bhs: Buffer, dataLength: number): Buffer | undefined {
    const writeBit = (bhs[1]! & 0x20) !== 0;
    const expected = bhs.readUInt32BE(20);
    // A small command's data is left where it arrived: a slice of the socket's chunk, no copy.
    if (!writeBit || dataLength > expected || !writeBuffers.pools(expected)) return undefined;
    if (this.placed) writeBuffers.give(this.placed);
    this.placed = writeBuffers.take(expected);
    return this.placed.subarray(0, dataLength);
  }

  /** The buffer placeImmediate() lent for this command, if its data is in it. */
  private claimPlaced(raw: RawPdu): Buffer | undefined {
    const placed = this.placed;
    this.placed = undefined;
    if (placed && raw.data.length > 0 && raw.data.buffer === placed.buffer && raw.data.byteOffset === placed.byteOffset) return placed;
    if (placed) writeBuffers.give(placed);
    return undefined;
  }

  private sendR2Ts(task: Task): void {
    for (const burst of task.collector!.requestBursts()) {
      task.dataPdus++;
      this.connection.send((seq) => encodeR2T({ lun: task.pdu.lun, itt: task.itt, ttt: burst.ttt, r2tSN: burst.r2tSN, bufferOffset: burst.offset, desiredLength: burst.length }, seq));
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
      holdDataOut: storage && writeBuffers.pools(storage.length) ? () => this.hold(task) : undefined,
      dataInLength: pdu.read ? pdu.expectedDataTransferLength : 0,
      attribute: ATTRIBUTES[pdu.attribute] ?? 'simple',
      tag: pdu.itt,
    };
    let outcome: Promise<ScsiResponse>;
    try {
      outcome = task.failure ? Promise.resolve({ status: Status.CheckCondition, sense: buildSense(task.failure.sense) }) : this.target!.scsi.execute(command);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    task.execution = outcome.then(
      (response) => this.complete(task, response),
      (error: unknown) => {
        this.services.logger.error({ err: error, itt: task.itt }, 'SCSI command failed inside the target');
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
    if (task.collector && task.finished && task.holds === 0) writeBuffers.give(task.collector.data);
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
      for (let offset = 0; offset < sent; ) {
        const burstEnd = Math.min(sent, (Math.floor(offset / burst) + 1) * burst);
        const end = Math.min(burstEnd, offset + segment);
        const last = end === sent;
        const dataSN = task.dataPdus++;
        const status = last && collapse ? { status: response.status, underflow, overflow } : undefined;
        const bufferOffset = offset;
        this.connection.send(
          (seq) => encodeDataIn({ final: end === burstEnd, itt: task.itt, dataSN, bufferOffset, dataLength: end - bufferOffset, status }, seq),
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
          { itt: task.itt, status: response.status, response: 0, underflow, overflow, expDataSN: task.dataPdus, dataLength: payload.length },
          seq,
        ),
      payload,
      true,
    );
  }

  private allocateTtt(): number {
    const ttt = this.nextTtt;
    this.nextTtt = this.nextTtt >= 0xfffffffe ? 1 : this.nextTtt + 1;
    return ttt;
  }

  // ---- NOP ------------------------------------------------------------------

  private onNopOut(raw: RawPdu): void {
    const pdu = decodeNopOut(raw);
    if (pdu.itt === RESERVED_TAG) {
      if (!pdu.immediate) throw new PduError(RejectReason.ProtocolError, 'NOP-Out without a task tag must be immediate');
      return; // an answer to our ping, or a bare CmdSN update: nothing to send
    }
    this.window.admit(pdu.cmdSN, pdu.immediate, () => {
      this.connection.send((seq) => encodeNopIn({ lun: pdu.lun, itt: pdu.itt, ttt: RESERVED_TAG, dataLength: pdu.data.length }, seq), pdu.data, true);
      if (!pdu.immediate) this.window.completed();
    });
  }

  // ---- task management ------------------------------------------------------

  private onTaskManagement(pdu: TaskManagementPdu): void {
    if (!this.target) throw new PduError(RejectReason.ProtocolError, 'task management in a discovery session');
    this.window.admit(pdu.cmdSN, pdu.immediate, () => {
      void this.manage(pdu).then((response) => {
        if (!this.closed) this.connection.send((seq) => encodeTaskManagementResponse(pdu.itt, response, seq), undefined, true);
        if (!pdu.immediate) this.window.completed();
        if (pdu.function === TaskFunction.TargetColdReset && response === TaskResponse.FunctionComplete) {
          for (const session of this.services.registry.ofTarget(this.targetName!)) session.close('target cold reset');
        }
      }).catch((error: unknown) => {
        this.services.logger.error({ err: error, function: pdu.function }, 'task management failed inside the target');
        this.close('task management failure');
      });
    });
  }

  private async manage(pdu: TaskManagementPdu): Promise<TaskResponse> {
    const scsi = this.target!.scsi;
    const sameLun = (task: Task): boolean => task.pdu.lun.equals(pdu.lun);
    const run = async (sessions: readonly Session[], filter: (task: Task) => boolean, fn?: TaskManagementFunction): Promise<TaskResponse> => {
      await Promise.all(sessions.map((session) => session.abortTasks(filter)));
      if (fn) scsi.taskManagement(fn, this.nexus, pdu.lun);
      return TaskResponse.FunctionComplete;
    };
    const everySession = this.services.registry.ofTarget(this.targetName!);
    switch (pdu.function) {
      case TaskFunction.AbortTask: {
        const task = this.tasks.get(pdu.referencedTaskTag);
        if (task && task.itt !== pdu.itt) {
          await this.abortTasks((t) => t === task);
          return TaskResponse.FunctionComplete;
        }
        return this.window.notYetReceived(pdu.refCmdSN) && pdu.refCmdSN !== pdu.cmdSN ? TaskResponse.FunctionComplete : TaskResponse.TaskDoesNotExist;
      }
      case TaskFunction.AbortTaskSet:
        return run([this], sameLun, 'abort-task-set');
      case TaskFunction.ClearTaskSet:
        return run(everySession, sameLun, 'clear-task-set');
      case TaskFunction.ClearAca:
        scsi.taskManagement('clear-aca', this.nexus, pdu.lun);
        return TaskResponse.FunctionComplete;
      case TaskFunction.LogicalUnitReset:
        return run(everySession, sameLun, 'lun-reset');
      case TaskFunction.TargetWarmReset:
      case TaskFunction.TargetColdReset:
        return run(everySession, () => true, 'target-reset');
      case TaskFunction.TaskReassign:
        return TaskResponse.ReassignmentNotSupported;
      default:
        return TaskResponse.Rejected;
    }
  }

  /** Aborts this session's tasks that match: no response is sent; running ones are waited for. */
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

  // ---- text -------------------------------------------------------------------

  private onText(pdu: TextRequestPdu): void {
    this.window.admit(pdu.cmdSN, pdu.immediate, () => {
      this.answerText(pdu);
      if (!pdu.immediate) this.window.completed();
    });
  }

  private answerText(pdu: TextRequestPdu): void {
    if (pdu.continue) throw new PduError(RejectReason.ProtocolError, 'multi-PDU text requests are not supported');
    let response: Buffer;
    let ttt: number;
    if (pdu.ttt !== RESERVED_TAG && this.textContinuation?.ttt === pdu.ttt) {
      response = this.textContinuation.remaining;
      ttt = pdu.ttt;
    } else {
      response = encodeTextData(this.textAnswers(decodeTextData(pdu.data)));
      ttt = this.allocateTtt();
    }
    const limit = this.params.maxRecvDataSegmentLength;
    const more = response.length > limit;
    const chunk = response.subarray(0, more ? limit : response.length);
    this.textContinuation = more ? { ttt, remaining: response.subarray(limit) } : undefined;
    this.connection.send(
      (seq) => encodeTextResponse({ final: !more, continue: more, lun: pdu.lun, itt: pdu.itt, ttt: more ? ttt : RESERVED_TAG, dataLength: chunk.length }, seq),
      chunk,
      true,
    );
  }

  private textAnswers(pairs: readonly KeyValue[]): KeyValue[] {
    const answers: KeyValue[] = [];
    for (const { key, value } of pairs) {
      if (key === 'SendTargets') answers.push(...this.sendTargets(value));
      else answers.push({ key, value: 'NotUnderstood' });
    }
    return answers;
  }

  private sendTargets(value: string): KeyValue[] {
    const visible = this.services
      .targets()
      .filter((t) => !t.allowedInitiators || t.allowedInitiators.includes(this.initiatorName))
      .filter((t) => (value === 'All' && !this.target) || t.name === value || (value === '' && t.name === this.targetName));
    const host = this.connection.portal.replace(/,\d+$/, '');
    return visible.flatMap((t) => [
      { key: 'TargetName', value: t.name },
      { key: 'TargetAddress', value: `${host},${t.portalGroupTag ?? 1}` },
    ]);
  }

  // ---- logout -------------------------------------------------------------------

  private onLogout(raw: RawPdu): void {
    const pdu = decodeLogoutRequest(raw);
    this.window.admit(pdu.cmdSN, pdu.immediate, () => {
      let response = 0;
      if (pdu.reason === LogoutReason.RemoveConnectionForRecovery) response = 2;
      else if (pdu.reason === LogoutReason.CloseConnection && pdu.cid !== this.agreement.cid) response = 1;
      void this.abortTasks(() => true);
      this.connection.send(
        (seq) => encodeLogoutResponse(pdu.itt, response, seq, this.params.defaultTime2Wait, this.params.defaultTime2Retain),
        undefined,
        true,
      );
      if (!pdu.immediate) this.window.completed();
      if (response === 0) this.connection.close('logout');
    });
  }

  /** Ends the session: tasks are dropped, the SCSI target forgets the nexus. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const task of this.tasks.values()) task.aborted = true;
    this.tasks.clear();
    this.ordered.length = 0;
    this.services.registry.remove(this);
    this.target?.scsi.nexusRemoved(this.nexus);
    this.connection.close(reason);
  }
}
