// One TCP connection: framing, the login phase, then handing PDUs to its
// session. Anything malformed ends in a Reject or a closed connection, never
// in an exception that escapes.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { duplicateSocketDescriptor } from '../fileio/fileio.ts';
import type { AdoptedConnection, ConnectionHost, WireAgreement } from './connection-handoff.ts';
import type { LoginGuard } from './login-guard.ts';
import { LoginFailures, LoginPhase, type LoginAgreement, type LoginContext, type LoginReply } from './login.ts';
import {
  AsyncEvent,
  decodeLoginRequest,
  encodeAsyncMessage,
  encodeLoginResponse,
  encodeNopIn,
  encodeReject,
  Opcode,
  opcodeOf,
  PduError,
  RejectReason,
  RESERVED_TAG,
  type LoginRequestPdu,
  type RawPdu,
  type Sequence,
} from './pdu.ts';
import { FramingError, PduReader } from './pdu-reader.ts';
import { PduWriter } from './pdu-writer.ts';
import { Session, type SessionConnection, type SessionServices } from './session.ts';

export interface ConnectionOptions {
  readonly login: LoginContext;
  readonly services: SessionServices;
  readonly logger: Logger;
  /** Idle time before the target pings the initiator with a NOP-In; 0 disables. */
  readonly nopInIntervalMs: number;
  /** How long a ping may stay unanswered before the connection is dropped. */
  readonly nopInTimeoutMs: number;
  /** How long the login phase may take, from the connection's start, before the connection is closed; 0: for ever. */
  readonly loginTimeoutMs: number;
  /** Paces verdicts on CHAP proofs per source address (shared by the server's connections). */
  readonly guard: LoginGuard;
  /** Told when the connection has gone to another thread (connection-handoff.ts); this object is then done. */
  readonly handedOff?: (adopted: AdoptedConnection) => void;
}

/** During login the initiator's MaxRecvDataSegmentLength is the RFC default. */
const LOGIN_SEGMENT_LIMIT = 8192;
const PING_TAG = 0x70696e67;

export class Connection implements SessionConnection {
  readonly portal: string;
  private readonly reader: PduReader;
  private readonly writer: PduWriter;
  private readonly loginPhase: LoginPhase;
  private session: Session | undefined;
  private statSN = 0;
  private loginCmdSN = 0;
  private closing = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  /** A login response held back by the login guard; no PDU may come before it is sent. */
  private heldReply: NodeJS.Timeout | undefined;
  /** The initiator's address, without the IPv4-mapped prefix. */
  readonly address: string;
  /** A PDU arrived since the idle timer last looked. */
  private heard = false;
  /** The connection went to another thread. */
  handedOver = false;
  private readonly logger: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.address = sourceAddress(socket);
    this.logger = options.logger.child({ peer: `${socket.remoteAddress}:${socket.remotePort}` });
    const tpgt = 1;
    const address = socket.localAddress ?? '127.0.0.1';
    this.portal = `${address.includes(':') ? `[${address}]` : address}:${socket.localPort},${tpgt}`;
    this.reader = new PduReader({
      maxDataSegmentLength: options.login.limits.maxRecvDataSegmentLength,
      headerDigest: false,
      dataDigest: false,
    });
    this.writer = new PduWriter(socket);
    this.loginPhase = new LoginPhase(options.login);
    socket.setNoDelay(true);
    socket.on('error', (error) => this.logger.debug({ err: error }, 'connection error'));
    socket.on('close', () => this.onClosed());
    if (options.loginTimeoutMs > 0) {
      // As Linux's LIO (login_timeout, 15 s by default): a connection that never logs in does not hold its descriptor for ever.
      this.loginTimer = setTimeout(
        () => this.close(`login not completed within ${options.loginTimeoutMs / 1000} s`),
        options.loginTimeoutMs,
      );
      this.loginTimer.unref();
    }
  }

  /** `written`: see PduWriter.write(). */
  send(build: (seq: Sequence) => Buffer, data?: Buffer, advanceStatSN = false, written?: () => void): void {
    const bhs = build(this.sequence());
    if (advanceStatSN) this.statSN = (this.statSN + 1) >>> 0;
    this.writer.write(bhs, data, written);
  }

  unsent(): number {
    return this.writer.unsent();
  }

  drained(): Promise<void> {
    return this.writer.drained();
  }

  reject(reason: RejectReason, pdu: RawPdu): void {
    this.send((seq) => encodeReject(reason, seq), pdu.bhs, true);
  }

  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.logger.info({ reason }, 'closing connection');
    this.session?.close(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Asks the initiator to log out (server shutdown), then closes. */
  requestLogout(): void {
    if (this.session && !this.closing) {
      this.send((seq) => encodeAsyncMessage(AsyncEvent.RequestLogout, seq, [0, 0, 0]), undefined, true);
    }
  }

  private sequence(): Sequence {
    // Fields copied one by one: an object spread here showed at 3% of the main thread at queue depth 32.
    const window = this.session?.sequence;
    if (window) return { statSN: this.statSN, expCmdSN: window.expCmdSN, maxCmdSN: window.maxCmdSN };
    return { statSN: this.statSN, expCmdSN: this.loginCmdSN, maxCmdSN: (this.loginCmdSN + this.options.services.commandWindow - 1) >>> 0 };
  }

  /** Bytes read from the socket, in memory the socket reuses once this returns (the reader copies what it keeps). */
  receive(chunk: Buffer): void {
    if (this.closing) return;
    this.reader.push(chunk);
    this.frame();
  }

  /** Where the socket may read the next bytes straight to (see PduReader.directTarget). */
  directTarget(): Buffer | undefined {
    return this.closing ? undefined : this.reader.directTarget();
  }

  /** The socket read `bytes` bytes into what directTarget() returned last. */
  landed(bytes: number): void {
    if (this.closing) return;
    this.reader.landed(bytes);
    this.frame();
  }

  private frame(): void {
    try {
      for (let framed = this.reader.next(); framed && !this.closing; framed = this.reader.next()) {
        if (framed.kind === 'data-digest-error') {
          if (this.session) this.session.receiveWithBadData(framed.pdu);
          else this.close('data digest error during login');
          continue;
        }
        this.dispatch(framed.pdu);
      }
    } catch (error) {
      if (error instanceof FramingError) {
        this.logger.warn({ err: error.message }, 'dropping connection: unframeable input');
      } else {
        this.logger.error({ err: error }, 'dropping connection: internal error');
      }
      this.close('protocol failure');
    }
  }

  private dispatch(pdu: RawPdu): void {
    if (!this.session) return this.onLoginPdu(pdu);
    this.heard = true;
    try {
      this.session.receive(pdu);
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      this.logger.info({ reason: error.message, opcode: opcodeOf(pdu.bhs) }, 'rejecting PDU');
      this.reject(error.reason, pdu);
    }
  }

  private onLoginPdu(pdu: RawPdu): void {
    if (this.heldReply) return this.close('PDU before the previous login response');
    if (opcodeOf(pdu.bhs) !== Opcode.LoginRequest) {
      this.logger.info({ opcode: opcodeOf(pdu.bhs) }, 'PDU before login completed');
      return this.close('PDU before login');
    }
    const request = decodeLoginRequest(pdu);
    if (this.statSN === 0 && this.loginCmdSN === 0) {
      this.statSN = request.expStatSN;
    }
    this.loginCmdSN = request.cmdSN;
    const reply = this.loginPhase.handle(request);
    if (reply.data.length > LOGIN_SEGMENT_LIMIT) throw new Error('login response larger than the initiator may receive');
    const delayMs = reply.verdict ? this.judged(reply, reply.verdict) : 0;
    if (delayMs === 0) return this.answerLogin(request, reply);
    this.heldReply = setTimeout(() => {
      this.heldReply = undefined;
      if (!this.closing) this.answerLogin(request, reply);
    }, delayMs);
  }

  /** Counts a verdict on a CHAP proof against the source address, logs a failure, and says how long to hold the answer. */
  private judged(reply: LoginReply, verdict: NonNullable<LoginReply['verdict']>): number {
    const { delayMs, failures } = this.options.guard.judge(this.address, verdict.verified);
    if (!verdict.verified) {
      this.logger.warn(
        {
          address: this.address,
          initiator: reply.initiator?.name,
          target: reply.initiator?.target,
          chapUser: verdict.user,
          failures,
          delayMs,
          reason: reply.reason,
        },
        `iSCSI login failed CHAP authentication: initiator ${reply.initiator?.name ?? '(unnamed)'} from ${this.address}`,
      );
    } else if (delayMs > 0) {
      this.logger.info(
        { address: this.address, initiator: reply.initiator?.name, delayMs },
        'CHAP login held back: its address failed recently',
      );
    }
    return delayMs;
  }

  private answerLogin(request: LoginRequestPdu, reply: LoginReply): void {
    const agreement = reply.agreement && reply.status.statusClass === 0 ? this.establish(reply.agreement) : undefined;
    const tsih = agreement ? agreement.tsih : request.tsih;
    const host = agreement?.agreement.target?.host;
    if (agreement && host) {
      // The initiator sends nothing more until it has this response: no read may take the session's first PDU here.
      clearTimeout(this.loginTimer);
      this.socket.pause();
    }
    this.send(
      (seq) =>
        encodeLoginResponse(
          {
            transit: reply.transit,
            continue: reply.continue,
            currentStage: reply.currentStage,
            nextStage: reply.nextStage,
            isid: request.isid,
            tsih,
            itt: request.itt,
            statusClass: reply.status.statusClass,
            statusDetail: reply.status.statusDetail,
            dataLength: reply.data.length,
          },
          seq,
        ),
      reply.data,
      true,
      // Once the kernel has the response, the connection goes to its target's thread.
      agreement && host ? () => this.handOver(host, agreement) : undefined,
    );
    if (reply.status.statusClass !== 0) {
      const { statusClass, statusDetail } = reply.status;
      const denied =
        statusClass === LoginFailures.authorizationFailure.statusClass && statusDetail === LoginFailures.authorizationFailure.statusDetail;
      if (denied) {
        this.logger.warn(
          { address: this.address, initiator: reply.initiator?.name, target: reply.initiator?.target },
          `iSCSI login refused: initiator ${reply.initiator?.name} from ${this.address} is not allowed to use ${reply.initiator?.target}`,
        );
      } else if (!reply.verdict) {
        this.logger.info(
          { status: reply.status, reason: reply.reason, initiator: reply.initiator?.name, isid: request.isid.toString('hex') },
          'login refused',
        );
      }
      return this.close('login refused');
    }
    if (agreement && !host) this.enterFullFeature(agreement);
  }

  /** Gives the connection, its login response sent, to the thread that serves its target. */
  private handOver(host: ConnectionHost, { tsih, agreement }: { tsih: number; agreement: LoginAgreement }): void {
    if (this.closing) return;
    if (!this.reader.idle) return this.close('PDU before the final login response');
    const fd = duplicateSocketDescriptor(this.socket);
    if (fd === undefined) return this.close('the connection has no descriptor to hand over');
    const adopted = host.adopt({
      fd,
      tsih,
      statSN: this.statSN,
      agreement: wireAgreement(agreement),
      limits: this.options.login.limits,
      nopInIntervalMs: this.options.nopInIntervalMs,
      nopInTimeoutMs: this.options.nopInTimeoutMs,
    });
    const { registry } = this.options.services;
    const { initiatorName, isid } = agreement;
    const elsewhere = { tsih, initiatorName, isid, targetName: agreement.target?.name, close: (reason: string) => adopted.close(reason) };
    registry.addElsewhere(elsewhere);
    void adopted.ended.then(() => registry.remove(elsewhere));
    this.handedOver = true;
    this.closing = true;
    this.logger.info({ tsih, initiator: initiatorName, target: agreement.target?.name }, "session handed to its target's thread");
    this.options.handedOff?.(adopted);
    // Only this descriptor closes: the connection lives on in the duplicate.
    this.socket.destroy();
  }

  /** Takes up a session logged in on another thread (connection-handoff.ts), from its first full-feature PDU. */
  resume(tsih: number, agreement: LoginAgreement, statSN: number): void {
    this.statSN = statSN;
    this.enterFullFeature({ tsih, agreement });
  }

  /** Registers the new session (replacing one of the same initiator port) before the final response. */
  private establish(agreement: LoginAgreement): { tsih: number; agreement: LoginAgreement } {
    const { registry } = this.options.services;
    registry.find(agreement.initiatorName, agreement.isid, agreement.target?.name)?.close('session reinstatement');
    return { tsih: registry.allocateTsih(), agreement };
  }

  private enterFullFeature({ tsih, agreement }: { tsih: number; agreement: LoginAgreement }): void {
    clearTimeout(this.loginTimer);
    const params = agreement.params;
    this.session = new Session(agreement, tsih, this, this.options.services);
    this.options.services.registry.add(this.session);
    this.reader.limits.headerDigest = params.headerDigest;
    this.reader.limits.dataDigest = params.dataDigest;
    this.reader.limits.maxDataSegmentLength = params.targetMaxRecvDataSegmentLength;
    this.reader.placement = (bhs, dataLength) => this.session?.dataDestination(bhs, dataLength);
    this.writer.headerDigest = params.headerDigest;
    this.writer.dataDigest = params.dataDigest;
    this.logger.info(
      { tsih, initiator: agreement.initiatorName, target: agreement.target?.name, type: agreement.sessionType, params },
      'session established',
    );
    this.watchIdle();
  }

  /**
   * Any PDU from the initiator proves it alive (dispatch() sets `heard`). A
   * timer looks once an interval: after an interval without a PDU we ping the
   * initiator with a NOP-In (answered by a NOP-Out carrying our TTT) and drop
   * it if nothing comes back in time. A flag, not a timer restarted per PDU:
   * that cost a clearTimeout and a setTimeout for every PDU on the data path.
   */
  private watchIdle(): void {
    const { nopInIntervalMs, nopInTimeoutMs } = this.options;
    if (nopInIntervalMs <= 0) return;
    this.heard = false;
    this.pingTimer = setTimeout(() => {
      if (this.closing) return;
      if (this.heard) return this.watchIdle();
      this.send((seq) => encodeNopIn({ lun: Buffer.alloc(8), itt: RESERVED_TAG, ttt: PING_TAG, dataLength: 0 }, seq));
      this.pingTimer = setTimeout(() => {
        if (this.heard) this.watchIdle();
        else this.close('NOP-In ping unanswered');
      }, nopInTimeoutMs);
      this.pingTimer.unref();
    }, nopInIntervalMs);
    this.pingTimer.unref();
  }

  private onClosed(): void {
    clearTimeout(this.pingTimer);
    clearTimeout(this.loginTimer);
    clearTimeout(this.heldReply);
    this.closing = true;
    this.session?.close('connection closed');
  }
}

function wireAgreement(agreement: LoginAgreement): WireAgreement {
  const { target, ...rest } = agreement;
  return { ...rest, targetName: target?.name ?? '' };
}

/** The initiator's IP address, an IPv4 one without the "::ffff:" a dual-stack socket gives it. */
export function sourceAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
