// ONC RPC over TCP: frames records off each connection, checks the call's
// header and credentials, dispatches to the program and version asked for, and
// writes the reply. Answers the protocol's own errors itself: RPC_MISMATCH,
// AUTH_ERROR, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS and
// SYSTEM_ERR. A stream that cannot be framed is dropped.
import net from 'node:net';
import type { Logger } from '../../log.ts';
import {
  AcceptStat,
  AuthFlavor,
  AuthStat,
  decodeAuthSys,
  decodeCall,
  encodeAcceptError,
  encodeAuthError,
  encodeProgMismatch,
  encodeRpcMismatch,
  encodeSuccess,
  peekXid,
  RPC_VERSION,
  type RpcCall,
} from './message.ts';
import { BufferPool } from '../../buffers/buffer-pool.ts';
import { readIntoOneBuffer } from '../../buffers/socket-reads.ts';
import { RecordError, RecordReader, recordMark } from './record-marking.ts';
import { XdrError, type XdrReader, type XdrWriter } from './xdr.ts';

export type RpcCredentials =
  | { readonly flavor: 'none' }
  | { readonly flavor: 'sys'; readonly uid: number; readonly gid: number; readonly gids: readonly number[]; readonly machineName: string };

export interface RpcCallContext {
  readonly xid: number;
  readonly credentials: RpcCredentials;
  /** The client's address, IPv4-mapped IPv6 addresses written as IPv4. */
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export type RpcHandler = (args: XdrReader, context: RpcCallContext) => Promise<XdrWriter> | XdrWriter;

export interface RpcProcedure {
  readonly name: string;
  readonly handler: RpcHandler;
}

/** One version of one program: its procedures by number. */
export interface RpcProgram {
  readonly program: number;
  readonly version: number;
  readonly name: string;
  readonly procedures: ReadonlyMap<number, RpcProcedure>;
}

export interface RpcServerOptions {
  readonly programs: readonly RpcProgram[];
  readonly logger: Logger;
  /** The largest record accepted; larger ones drop the connection. Default 4 MiB + 64 KiB (a 4 MiB WRITE and its header). */
  readonly maxRecordBytes?: number;
  /** Calls served at once per connection before it stops reading. Default 64. */
  readonly maxCallsPerConnection?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024 + 64 * 1024;
/** The buffer a connection's reads share (those not read straight to a large fragment's place). */
const READ_BUFFER_BYTES = 64 * 1024;

export class RpcServer {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private readonly programs = new Map<number, Map<number, RpcProgram>>();
  private readonly maxRecordBytes: number;
  private readonly maxCalls: number;
  /** Records gathered from several chunks, reused once their call is answered: nothing in a reply refers to its call's bytes. */
  private readonly records = new BufferPool();

  constructor(private readonly options: RpcServerOptions) {
    for (const program of options.programs) this.add(program);
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxCalls = options.maxCallsPerConnection ?? 64;
  }

  /** Serves another program version from now on. */
  add(program: RpcProgram): void {
    let versions = this.programs.get(program.program);
    if (!versions) this.programs.set(program.program, (versions = new Map<number, RpcProgram>()));
    versions.set(program.version, program);
  }

  /** Connections open now, on every port. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listens on another address; resolves to the port bound (useful with port 0). */
  async listen(host: string, port: number): Promise<number> {
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => this.serve(accepted));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return (server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    const closing = this.servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of this.connections) socket.destroy();
    await Promise.all(closing);
  }

  private serve(accepted: net.Socket): void {
    const logger = this.options.logger;
    const remoteAddress = unmapped(accepted.remoteAddress ?? '');
    const remotePort = accepted.remotePort ?? 0;
    const reader = new RecordReader(this.maxRecordBytes, this.records);
    let inFlight = 0;
    let closed = false;
    const frame = () => {
      for (;;) {
        let record: Buffer | undefined;
        try {
          record = reader.next();
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          logger.warn({ client: remoteAddress, err: err.message }, 'RPC stream cannot be framed: connection dropped');
          closed = true;
          socket.destroy();
          return;
        }
        if (!record) break;
        inFlight++;
        const call = record;
        void this.answer(call, remoteAddress, remotePort).then((reply) => {
          inFlight--;
          this.records.give(call);
          if (reply && !closed) {
            const pieces = reply.buffers();
            socket.cork();
            socket.write(recordMark(reply.length));
            pieces.forEach((piece, i) => socket.write(piece, i === pieces.length - 1 ? () => reply.done() : undefined));
            socket.uncork();
          } else {
            reply?.done();
          }
          if (!reply && !closed) {
            logger.warn({ client: remoteAddress }, 'a record that is not an RPC call: connection dropped');
            socket.destroy();
          }
          resumeIfIdle();
          pauseIfBusy();
        });
      }
      pauseIfBusy();
    };
    // Reads land in one reused buffer, or straight in a large fragment's own (see RecordReader.directTarget).
    const socket = readIntoOneBuffer(accepted, READ_BUFFER_BYTES, {
      directTarget: () => (closed ? undefined : reader.directTarget()),
      landed: (bytes) => {
        if (closed) return;
        reader.landed(bytes);
        frame();
      },
      receive: (bytes) => {
        if (closed) return;
        reader.push(bytes);
        frame();
      },
    });
    this.connections.add(socket);
    socket.setNoDelay(true);
    // A reply larger than the socket's high-water mark (a READ's megabyte) leaves writableNeedDrain set
    // even when the kernel took all of it at once, until 'drain' on the next tick: pausing for that
    // stopped and restarted reading, two epoll_ctl calls, after every such reply. Only bytes queued count.
    const backlogged = () => socket.writableNeedDrain && socket.writableLength > 0;
    const pauseIfBusy = () => {
      if (inFlight >= this.maxCalls || backlogged()) socket.pause();
    };
    const resumeIfIdle = () => {
      if (!closed && inFlight < this.maxCalls && !backlogged()) socket.resume();
    };
    socket.on('drain', resumeIfIdle);
    socket.on('error', (err) => logger.debug({ client: remoteAddress, err: err.message }, 'RPC connection error'));
    socket.on('close', () => {
      closed = true;
      this.connections.delete(socket);
    });
  }

  /** The reply to one record, or undefined when it is not a call at all (the connection is then dropped). */
  private async answer(record: Buffer, remoteAddress: string, remotePort: number): Promise<XdrWriter | undefined> {
    let call: RpcCall;
    try {
      call = decodeCall(record);
    } catch (err) {
      if (!(err instanceof XdrError)) throw err;
      const xid = peekXid(record);
      // A call whose credentials do not decode still names itself a call: it gets AUTH_BADCRED.
      return xid !== undefined && record.length >= 8 && record.readUInt32BE(4) === 0 ? encodeAuthError(xid, AuthStat.BadCred) : undefined;
    }
    if (call.rpcVersion !== RPC_VERSION) return encodeRpcMismatch(call.xid);
    let credentials: RpcCredentials;
    if (call.cred.flavor === AuthFlavor.None) {
      credentials = { flavor: 'none' };
    } else if (call.cred.flavor === AuthFlavor.Sys) {
      try {
        credentials = { flavor: 'sys', ...decodeAuthSys(call.cred.body) };
      } catch (err) {
        if (!(err instanceof XdrError)) throw err;
        return encodeAuthError(call.xid, AuthStat.BadCred);
      }
    } else {
      // RPCSEC_GSS, AUTH_DH and the rest are not served; Linux's server answers the same.
      return encodeAuthError(call.xid, AuthStat.BadCred);
    }
    const versions = this.programs.get(call.program);
    if (!versions) return encodeAcceptError(call.xid, AcceptStat.ProgUnavail);
    const program = versions.get(call.version);
    if (!program) {
      const served = [...versions.keys()];
      return encodeProgMismatch(call.xid, Math.min(...served), Math.max(...served));
    }
    const procedure = program.procedures.get(call.procedure);
    if (!procedure) return encodeAcceptError(call.xid, AcceptStat.ProcUnavail);
    try {
      const results = await procedure.handler(call.args, { xid: call.xid, credentials, remoteAddress, remotePort });
      return encodeSuccess(call.xid, results);
    } catch (err) {
      if (err instanceof XdrError) return encodeAcceptError(call.xid, AcceptStat.GarbageArgs);
      this.options.logger.error({ err, program: program.name, procedure: procedure.name, client: remoteAddress }, 'RPC procedure failed');
      return encodeAcceptError(call.xid, AcceptStat.SystemErr);
    }
  }
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
