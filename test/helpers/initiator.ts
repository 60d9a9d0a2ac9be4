// A small iSCSI initiator for protocol-level tests of the fabric. It speaks
// the wire format directly so tests can choose every key and every byte; the
// real initiators (libiscsi, QEMU + Linux) are tested separately.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { digestOf } from '../../src/iscsi/digest.ts';
import { BHS_LENGTH, Opcode, RESERVED_TAG } from '../../src/iscsi/pdu.ts';
import { PduReader } from '../../src/iscsi/pdu-reader.ts';
import { decodeTextData, encodeTextData, type KeyValue } from '../../src/iscsi/text.ts';
import { flipBits } from './bytes.ts';

export interface ReceivedPdu {
  readonly opcode: number;
  readonly bhs: Buffer;
  readonly data: Buffer;
}

export interface LoginOptions {
  readonly initiatorName?: string;
  readonly targetName?: string;
  readonly sessionType?: 'Normal' | 'Discovery';
  readonly isid?: Buffer;
  /** Operational keys offered, in order; defaults to libiscsi's offer. */
  readonly keys?: Record<string, string>;
  readonly chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
}

export interface CommandResult {
  readonly status: number;
  readonly data: Buffer;
  readonly sense: Buffer;
  readonly residual: number;
  readonly underflow: boolean;
  readonly overflow: boolean;
  /** Every PDU the target sent for this command, in order (Data-In, R2T, response). */
  readonly pdus: ReceivedPdu[];
}

export const LIBISCSI_OFFER: Record<string, string> = {
  HeaderDigest: 'None',
  DataDigest: 'None',
  InitialR2T: 'No',
  ImmediateData: 'Yes',
  MaxBurstLength: '262144',
  FirstBurstLength: '262144',
  MaxRecvDataSegmentLength: '262144',
  MaxConnections: '1',
  DataPDUInOrder: 'Yes',
  DataSequenceInOrder: 'Yes',
  ErrorRecoveryLevel: '0',
};

export const OPEN_ISCSI_OFFER: Record<string, string> = {
  HeaderDigest: 'None',
  DataDigest: 'None',
  InitialR2T: 'No',
  ImmediateData: 'Yes',
  MaxBurstLength: '16776192',
  FirstBurstLength: '262144',
  MaxRecvDataSegmentLength: '262144',
  MaxConnections: '1',
  DefaultTime2Wait: '2',
  DefaultTime2Retain: '0',
  MaxOutstandingR2T: '1',
  DataPDUInOrder: 'Yes',
  DataSequenceInOrder: 'Yes',
  ErrorRecoveryLevel: '0',
};

export class LoginFailed extends Error {
  constructor(
    readonly statusClass: number,
    readonly statusDetail: number,
  ) {
    super(`login failed with status ${statusClass}/${statusDetail}`);
  }
}

export class TestInitiator {
  readonly socket: Socket;
  private readonly reader = new PduReader({ maxDataSegmentLength: 16 * 1024 * 1024, headerDigest: false, dataDigest: false });
  private readonly inbox: ReceivedPdu[] = [];
  private waiters: Array<() => void> = [];
  private closedFlag = false;
  cmdSN = 1;
  expStatSN = 0;
  itt = 1;
  tsih = 0;
  headerDigest = false;
  dataDigest = false;
  /** What the target negotiated, from its answers. */
  negotiated: Record<string, string> = {};

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let f = this.reader.next(); f; f = this.reader.next()) {
        this.inbox.push({ opcode: f.pdu.bhs.readUInt8(0) & 0x3f, bhs: Buffer.from(f.pdu.bhs), data: Buffer.from(f.pdu.data) });
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** `localAddress`: the source address, e.g. 127.0.0.2 to come from another host of the loopback network. */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<TestInitiator> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => resolve(new TestInitiator(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next PDU from the target, or undefined if the connection closes or the time runs out. */
  async receive(timeoutMs = 5000): Promise<ReceivedPdu | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closedFlag || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const pdu = this.inbox.shift()!;
    if (pdu.opcode !== Opcode.DataIn || (pdu.bhs.readUInt8(1) & 0x01) !== 0) {
      if (pdu.opcode !== Opcode.R2T && !(pdu.opcode === Opcode.NopIn && pdu.bhs.readUInt32BE(16) === RESERVED_TAG)) {
        this.expStatSN = (pdu.bhs.readUInt32BE(24) + 1) >>> 0;
      }
    }
    return pdu;
  }

  /** Sends one PDU: the header as given, digests and padding added as negotiated. */
  sendPdu(bhs: Buffer, data: Buffer = Buffer.alloc(0), options: { corruptDataDigest?: boolean } = {}): void {
    bhs.writeUIntBE(data.length, 5, 3);
    const parts = [bhs];
    if (this.headerDigest) parts.push(digestOf([bhs]));
    if (data.length) {
      const pad = Buffer.alloc((4 - (data.length & 3)) & 3);
      parts.push(data, pad);
      if (this.dataDigest) {
        const digest = digestOf([data, pad]);
        if (options.corruptDataDigest) flipBits(digest, 0);
        parts.push(digest);
      }
    }
    this.socket.write(Buffer.concat(parts));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  nextItt(): number {
    return this.itt++;
  }

  async login(options: LoginOptions = {}): Promise<Record<string, string>> {
    const isid = options.isid ?? Buffer.from([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);
    const itt = this.nextItt();
    const sessionType = options.sessionType ?? (options.targetName ? 'Normal' : 'Discovery');
    const declarations: KeyValue[] = [
      { key: 'InitiatorName', value: options.initiatorName ?? 'iqn.2026-11.test:initiator' },
      { key: 'SessionType', value: sessionType },
      ...(options.targetName ? [{ key: 'TargetName', value: options.targetName }] : []),
    ];
    const send = (csg: number, nsg: number, transit: boolean, keys: KeyValue[]): void => {
      const bhs = Buffer.alloc(BHS_LENGTH);
      bhs[0] = 0x40 | Opcode.LoginRequest;
      bhs[1] = (transit ? 0x80 : 0) | (csg << 2) | nsg;
      isid.copy(bhs, 8);
      bhs.writeUInt16BE(this.tsih, 14);
      bhs.writeUInt32BE(itt, 16);
      bhs.writeUInt32BE(this.cmdSN, 24);
      bhs.writeUInt32BE(this.expStatSN, 28);
      this.sendPdu(bhs, encodeTextData(keys));
    };
    const answer = async (): Promise<{ transit: boolean; nsg: number; keys: Map<string, string> }> => {
      const pdu = await this.receive();
      if (!pdu) throw new Error('connection closed during login');
      if (pdu.opcode !== Opcode.LoginResponse) throw new Error(`expected a Login Response, got opcode ${pdu.opcode}`);
      if (pdu.bhs.readUInt8(36) !== 0) throw new LoginFailed(pdu.bhs.readUInt8(36), pdu.bhs.readUInt8(37));
      this.tsih = pdu.bhs.readUInt16BE(14);
      const keys = new Map(decodeTextData(pdu.data).map((kv) => [kv.key, kv.value]));
      for (const [k, v] of keys) this.negotiated[k] = v;
      return { transit: (pdu.bhs.readUInt8(1) & 0x80) !== 0, nsg: pdu.bhs.readUInt8(1) & 0x03, keys };
    };

    if (options.chap) {
      send(0, 1, false, [...declarations, { key: 'AuthMethod', value: 'CHAP,None' }]);
      const method = await answer();
      if (method.keys.get('AuthMethod') !== 'CHAP') throw new Error(`target chose AuthMethod ${method.keys.get('AuthMethod')}`);
      send(0, 1, false, [{ key: 'CHAP_A', value: '5' }]);
      const challenge = await answer();
      const id = Number(challenge.keys.get('CHAP_I'));
      const c = Buffer.from(challenge.keys.get('CHAP_C')!.slice(2), 'hex');
      const response = createHash('md5')
        .update(Buffer.from([id]))
        .update(options.chap.secret)
        .update(c)
        .digest();
      const keys: KeyValue[] = [
        { key: 'CHAP_N', value: options.chap.user },
        { key: 'CHAP_R', value: `0x${response.toString('hex')}` },
      ];
      const ourChallenge = Buffer.alloc(16, 0x5a);
      if (options.chap.mutual) keys.push({ key: 'CHAP_I', value: '77' }, { key: 'CHAP_C', value: `0x${ourChallenge.toString('hex')}` });
      send(0, 1, true, keys);
      const verdict = await answer();
      if (options.chap.mutual) {
        const expected = createHash('md5')
          .update(Buffer.from([77]))
          .update(options.chap.mutual.secret)
          .update(ourChallenge)
          .digest();
        if (verdict.keys.get('CHAP_N') !== options.chap.mutual.user || verdict.keys.get('CHAP_R') !== `0x${expected.toString('hex')}`) {
          throw new Error('target failed mutual CHAP');
        }
      }
    }
    const offer = options.keys ?? LIBISCSI_OFFER;
    const operational: KeyValue[] = [
      ...(options.chap ? [] : [...declarations, { key: 'AuthMethod', value: 'None' }].filter((kv) => kv.key !== 'AuthMethod')),
      ...Object.entries(offer).map(([key, value]) => ({ key, value })),
    ];
    if (!options.chap) {
      send(0, 1, true, [...declarations, { key: 'AuthMethod', value: 'None' }]);
      await answer();
      operational.splice(0, declarations.length);
    }
    let reply: { transit: boolean; nsg: number; keys: Map<string, string> };
    let keys = operational;
    do {
      send(1, 3, true, keys);
      reply = await answer();
      keys = [];
      for (const [k, v] of reply.keys)
        if (!(k in offer) && k !== 'TargetPortalGroupTag' && k !== 'TargetAlias' && k !== 'MaxRecvDataSegmentLength')
          keys.push({ key: k, value: v });
    } while (!(reply.transit && reply.nsg === 3));
    this.headerDigest = this.negotiated.HeaderDigest === 'CRC32C';
    this.dataDigest = this.negotiated.DataDigest === 'CRC32C';
    this.reader.limits.headerDigest = this.headerDigest;
    this.reader.limits.dataDigest = this.dataDigest;
    return this.negotiated;
  }

  /** Sends a SCSI command; write data goes as immediate/unsolicited/solicited data as negotiated. */
  async command(
    cdb: Buffer | number[],
    options: { lun?: number; read?: number; write?: Buffer; immediate?: boolean; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    const itt = this.nextItt();
    const write = options.write;
    const edtl = write ? write.length : (options.read ?? 0);
    const immediateData = this.negotiated.ImmediateData !== 'No';
    const initialR2T = this.negotiated.InitialR2T === 'Yes';
    const firstBurst = Number(this.negotiated.FirstBurstLength ?? 65536);
    const segment = Number(this.negotiated.MaxRecvDataSegmentLength ?? 8192);
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = Opcode.ScsiCommand | (options.immediate ? 0x40 : 0);
    const immediate = write && immediateData ? write.subarray(0, Math.min(firstBurst, segment, write.length)) : Buffer.alloc(0);
    const unsolicitedEnd = write ? (initialR2T ? immediate.length : Math.min(firstBurst, write.length)) : 0;
    bhs[1] = (unsolicitedEnd === immediate.length ? 0x80 : 0) | (options.read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01;
    bhs[9] = options.lun ?? 0;
    bhs.writeUInt32BE(itt, 16);
    bhs.writeUInt32BE(edtl, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    if (!options.immediate) this.cmdSN = (this.cmdSN + 1) >>> 0;
    bhs.writeUInt32BE(this.expStatSN, 28);
    Buffer.from(cdb).copy(bhs, 32);
    this.sendPdu(bhs, immediate);
    if (write) this.sendData(itt, RESERVED_TAG, write, immediate.length, unsolicitedEnd, segment);

    const pdus: ReceivedPdu[] = [];
    const chunks: Buffer[] = [];
    for (;;) {
      const pdu = await this.receive(options.timeoutMs);
      if (!pdu) throw new Error('no response from the target');
      if (pdu.bhs.readUInt32BE(16) !== itt) throw new Error(`unexpected PDU opcode 0x${pdu.opcode.toString(16)} for another task`);
      pdus.push(pdu);
      if (pdu.opcode === Opcode.R2T) {
        const offset = pdu.bhs.readUInt32BE(40);
        const length = pdu.bhs.readUInt32BE(44);
        this.sendData(itt, pdu.bhs.readUInt32BE(20), write!, offset, offset + length, segment);
        continue;
      }
      if (pdu.opcode === Opcode.DataIn) {
        chunks.push(pdu.data);
        if (pdu.bhs.readUInt8(1) & 0x01) {
          return {
            status: pdu.bhs.readUInt8(3),
            data: Buffer.concat(chunks),
            sense: Buffer.alloc(0),
            residual: pdu.bhs.readUInt32BE(44),
            underflow: (pdu.bhs.readUInt8(1) & 0x02) !== 0,
            overflow: (pdu.bhs.readUInt8(1) & 0x04) !== 0,
            pdus,
          };
        }
        continue;
      }
      if (pdu.opcode === Opcode.ScsiResponse) {
        const senseLength = pdu.data.length >= 2 ? pdu.data.readUInt16BE(0) : 0;
        return {
          status: pdu.bhs.readUInt8(3),
          data: Buffer.concat(chunks),
          sense: pdu.data.subarray(2, 2 + senseLength),
          residual: pdu.bhs.readUInt32BE(44),
          underflow: (pdu.bhs.readUInt8(1) & 0x02) !== 0,
          overflow: (pdu.bhs.readUInt8(1) & 0x04) !== 0,
          pdus,
        };
      }
      throw new Error(`unexpected opcode 0x${pdu.opcode.toString(16)}`);
    }
  }

  private sendData(itt: number, ttt: number, data: Buffer, from: number, to: number, segment: number): void {
    let dataSN = 0;
    for (let offset = from; offset < to; offset += segment) {
      const end = Math.min(to, offset + segment);
      const bhs = Buffer.alloc(BHS_LENGTH);
      bhs[0] = Opcode.DataOut;
      bhs[1] = end === to ? 0x80 : 0;
      bhs.writeUInt32BE(itt, 16);
      bhs.writeUInt32BE(ttt, 20);
      bhs.writeUInt32BE(this.expStatSN, 28);
      bhs.writeUInt32BE(dataSN++, 36);
      bhs.writeUInt32BE(offset, 40);
      this.sendPdu(bhs, data.subarray(offset, end));
    }
  }

  async sendTargets(value = 'All'): Promise<KeyValue[]> {
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = 0x40 | Opcode.TextRequest;
    bhs[1] = 0x80;
    bhs.writeUInt32BE(this.nextItt(), 16);
    bhs.writeUInt32BE(RESERVED_TAG, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    this.sendPdu(bhs, encodeTextData([{ key: 'SendTargets', value }]));
    const pdu = await this.receive();
    if (!pdu || pdu.opcode !== Opcode.TextResponse) throw new Error('no Text Response');
    return decodeTextData(pdu.data);
  }

  async nop(data = Buffer.alloc(0)): Promise<ReceivedPdu | undefined> {
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = 0x40 | Opcode.NopOut;
    bhs[1] = 0x80;
    bhs.writeUInt32BE(this.nextItt(), 16);
    bhs.writeUInt32BE(RESERVED_TAG, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    this.sendPdu(bhs, data);
    return this.receive();
  }

  /** Sends a task management request and returns the target's response byte. */
  async taskManagement(fn: number, options: { lun?: number; referencedTaskTag?: number; refCmdSN?: number } = {}): Promise<number> {
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = 0x40 | Opcode.TaskManagementRequest;
    bhs[1] = 0x80 | fn;
    bhs[9] = options.lun ?? 0;
    const itt = this.nextItt();
    bhs.writeUInt32BE(itt, 16);
    bhs.writeUInt32BE(options.referencedTaskTag ?? RESERVED_TAG, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    bhs.writeUInt32BE(options.refCmdSN ?? 0, 32);
    this.sendPdu(bhs);
    for (;;) {
      const pdu = await this.receive();
      if (!pdu) throw new Error('no task management response');
      if (pdu.opcode === Opcode.TaskManagementResponse && pdu.bhs.readUInt32BE(16) === itt) return pdu.bhs.readUInt8(2);
    }
  }

  async logout(): Promise<number> {
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = 0x40 | Opcode.LogoutRequest;
    bhs[1] = 0x80;
    bhs.writeUInt32BE(this.nextItt(), 16);
    bhs.writeUInt32BE(this.cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    this.sendPdu(bhs);
    const pdu = await this.receive();
    if (!pdu || pdu.opcode !== Opcode.LogoutResponse) throw new Error('no Logout Response');
    return pdu.bhs.readUInt8(2);
  }

  close(): void {
    this.socket.destroy();
  }
}
