// A session in full feature phase (RFC 7143): it takes the PDUs of its
// connection in turn and hands each to the part that answers it: SCSI commands
// and their data to the command flow, task management, text requests
// (SendTargets) and logout to theirs; NOP-Outs it answers itself. One
// connection per session (MaxConnections=1, ErrorRecoveryLevel=0).
import type { Logger } from 'pino';
import type { BufferPool } from '../buffers/buffer-pool.ts';
import { scsiError, SenseKey } from '../../scsi/sense.ts';
import type { Nexus } from '../../scsi/types.ts';
import { CommandFlow, type Task } from './command-flow.ts';
import { CommandWindow } from './command-window.ts';
import type { LoginAgreement } from './login.ts';
import { receiveLogout } from './logout.ts';
import {
  decodeLogoutRequest,
  decodeNopOut,
  decodeTaskManagement,
  decodeTextRequest,
  encodeNopIn,
  Opcode,
  opcodeOf,
  PduError,
  RejectReason,
  RESERVED_TAG,
  type RawPdu,
} from './pdu.ts';
import type { SessionConnection } from './session-connection.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { IscsiTargetDefinition } from './target-definition.ts';
import { TaskManagement } from './task-management.ts';
import { TextRequests } from './text-requests.ts';

export type { SessionConnection } from './session-connection.ts';

const PROTOCOL_SERVICE_CRC_ERROR = 0x4705;

export interface SessionServices {
  readonly registry: SessionRegistry<Session>;
  readonly targets: () => readonly IscsiTargetDefinition[];
  readonly commandWindow: number;
  readonly logger: Logger;
  /**
   * Write commands' data buffers, lent to every session of the server. One
   * pool per server, not per module: a pool belongs to one thread (its
   * buffers' memory is reused there), so a server whose sessions run in
   * another thread brings its own.
   */
  readonly writeBuffers: BufferPool;
}

export class Session {
  readonly tsih: number;
  readonly initiatorName: string;
  readonly isid: Buffer;
  readonly targetName: string | undefined;
  readonly nexus: Nexus;
  private readonly window: CommandWindow;
  private readonly commands: CommandFlow;
  private readonly taskManagement: TaskManagement;
  private readonly text: TextRequests;
  private nextTtt = 1;
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
    this.nexus = {
      key: `${initiatorPort}|${targetPort}`,
      initiatorPort,
      initiatorName: agreement.initiatorName,
      relativeTargetPort: 1,
      targetPort,
    };
    const allocateTtt = (): number => this.allocateTtt();
    const { window, nexus } = this;
    this.commands = new CommandFlow({
      nexus,
      target: agreement.target,
      params: agreement.params,
      window,
      connection,
      logger: services.logger,
      allocateTtt,
      writeBuffers: services.writeBuffers,
    });
    this.taskManagement = new TaskManagement({
      nexus,
      scsi: agreement.target?.scsi,
      window,
      connection,
      logger: services.logger,
      task: (itt) => this.commands.task(itt),
      session: this,
      targetSessions: () => services.registry.ofTarget(this.targetName!),
      closed: () => this.closed,
    });
    this.text = new TextRequests({
      initiatorName: agreement.initiatorName,
      target: agreement.target,
      targets: services.targets,
      maxRecvDataSegmentLength: agreement.params.maxRecvDataSegmentLength,
      window,
      connection,
      allocateTtt,
    });
    agreement.target?.scsi.nexusAdded(this.nexus);
  }

  get sequence(): { expCmdSN: number; maxCmdSN: number } {
    return this.window.sequence;
  }

  /** One PDU of the full feature phase. Throws PduError for the connection to reject. */
  receive(pdu: RawPdu): void {
    const opcode = opcodeOf(pdu.bhs);
    switch (opcode) {
      case Opcode.ScsiCommand:
        return this.commands.onScsiCommand(pdu);
      case Opcode.DataOut:
        return this.commands.onDataOut(pdu);
      case Opcode.NopOut:
        return this.onNopOut(pdu);
      case Opcode.TaskManagementRequest:
        return this.taskManagement.receive(decodeTaskManagement(pdu));
      case Opcode.TextRequest:
        return this.text.receive(decodeTextRequest(pdu));
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
    this.commands.onBadData(pdu, scsiError(SenseKey.AbortedCommand, PROTOCOL_SERVICE_CRC_ERROR));
  }

  /** Where the reader should copy a PDU's data straight off the socket (see CommandFlow.dataDestination). */
  dataDestination(bhs: Buffer, dataLength: number): Buffer | undefined {
    return this.commands.dataDestination(bhs, dataLength);
  }

  /** Aborts this session's tasks that match: no response is sent; running ones are waited for. */
  abortTasks(filter: (task: Task) => boolean): Promise<void> {
    return this.commands.abortTasks(filter);
  }

  /** Ends the session: tasks are dropped, the SCSI target forgets the nexus. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.commands.close();
    this.services.registry.remove(this);
    this.agreement.target?.scsi.nexusRemoved(this.nexus);
    this.connection.close(reason);
  }

  private allocateTtt(): number {
    const ttt = this.nextTtt;
    this.nextTtt = this.nextTtt >= 0xfffffffe ? 1 : this.nextTtt + 1;
    return ttt;
  }

  private onNopOut(raw: RawPdu): void {
    const pdu = decodeNopOut(raw);
    if (pdu.itt === RESERVED_TAG) {
      if (!pdu.immediate) throw new PduError(RejectReason.ProtocolError, 'NOP-Out without a task tag must be immediate');
      return; // an answer to our ping, or a bare CmdSN update: nothing to send
    }
    this.window.admit(pdu.cmdSN, pdu.immediate, () => {
      this.connection.send(
        (seq) => encodeNopIn({ lun: pdu.lun, itt: pdu.itt, ttt: RESERVED_TAG, dataLength: pdu.data.length }, seq),
        pdu.data,
        true,
      );
      if (!pdu.immediate) this.window.completed();
    });
  }

  private onLogout(raw: RawPdu): void {
    const { params } = this.agreement;
    receiveLogout(decodeLogoutRequest(raw), {
      cid: this.agreement.cid,
      defaultTime2Wait: params.defaultTime2Wait,
      defaultTime2Retain: params.defaultTime2Retain,
      window: this.window,
      connection: this.connection,
      abortAll: () => void this.abortTasks(() => true),
    });
  }
}
