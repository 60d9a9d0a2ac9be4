// A small ONC RPC client over TCP for protocol-level tests: sends calls (or raw
// bytes), frames replies. It never replaces the real clients (libnfs's tools,
// the guest's kernel) that the share's other tests use.
import net from 'node:net';
import { decodeReply, encodeAuthSys, encodeCall, AuthFlavor, type OpaqueAuth, type RpcReply } from '../../src/share/rpc/message.ts';
import { RecordReader, recordMark } from '../../src/share/rpc/record-marking.ts';
import type { XdrWriter } from '../../src/share/rpc/xdr.ts';

export function authSys(uid = 0, gid = 0, gids: number[] = []): OpaqueAuth {
  return { flavor: AuthFlavor.Sys, body: encodeAuthSys({ stamp: 1, machineName: 'test', uid, gid, gids }) };
}

export class RpcTestClient {
  private readonly reader = new RecordReader(64 * 1024 * 1024);
  private readonly records: Buffer[] = [];
  private waiting: (() => void) | undefined;
  private xid = 1000;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let record = this.reader.next(); record; record = this.reader.next()) this.records.push(record);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RpcTestClient> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RpcTestClient(socket);
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  sendRecord(record: Buffer): void {
    this.socket.write(Buffer.concat([recordMark(record.length), record]));
  }

  /** The next reply record, or undefined when the connection closed or nothing came within the time. */
  async receive(timeoutMs = 5000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.records.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    return this.records.shift();
  }

  async call(
    program: number,
    version: number,
    procedure: number,
    args?: (writer: XdrWriter) => void,
    cred: OpaqueAuth = authSys(),
  ): Promise<RpcReply> {
    const xid = ++this.xid;
    const writer = encodeCall({ xid, program, version, procedure, cred });
    args?.(writer);
    this.sendRecord(writer.toBuffer());
    const record = await this.receive();
    if (!record) throw new Error(`no reply to procedure ${procedure} of program ${program}`);
    const reply = decodeReply(record);
    if (reply.xid !== xid) throw new Error(`reply xid ${reply.xid}, expected ${xid}`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}
