// The gateway's NFS service: NFSv3 and MOUNT v3 on their ports, and the port
// mapper on its own (111 by default) so that standard clients find them. When
// the port mapper's port cannot be had (another rpcbind, or no root), clients
// name the ports themselves: mount -o port=N,mountport=M (kernel) or
// nfs://HOST/SHARE?nfsport=N&mountport=M (libnfs).
import type { Logger } from '../../log.ts';
import { IPPROTO_TCP, PMAP_PROGRAM, PMAP_VERSION, PortMappings, portmapProgram } from '../rpc/portmap.ts';
import { RpcServer } from '../rpc/server.ts';
import { mountProgram, MOUNT_PROGRAM, MOUNT_V3 } from './mount-program.ts';
import { nfs3Program, type ExportedShares } from './nfs3-program.ts';
import { NFS_PROGRAM, NFS_V3 } from './nfs3-xdr.ts';

export interface NfsServerOptions {
  readonly host: string;
  /** NFS (2049 by default; 0: any free port). */
  readonly nfsPort: number;
  /** MOUNT (20048 by default, as Linux's mountd). */
  readonly mountPort: number;
  /** The port mapper's port (111), or undefined for none. */
  readonly portmapPort: number | undefined;
  readonly shares: ExportedShares;
  readonly logger: Logger;
  readonly writeVerifier?: Buffer;
}

export interface NfsAddresses {
  readonly host: string;
  readonly nfsPort: number;
  readonly mountPort: number;
  /** Undefined when no port mapper runs. */
  readonly portmapPort: number | undefined;
}

export class NfsServer {
  private readonly rpc: RpcServer;
  private readonly portmap: RpcServer;
  private readonly mappings = new PortMappings();

  constructor(private readonly options: NfsServerOptions) {
    const logger = options.logger;
    this.rpc = new RpcServer({
      programs: [
        nfs3Program(options.shares, { logger, ...(options.writeVerifier ? { writeVerifier: options.writeVerifier } : {}) }),
        mountProgram(options.shares),
      ],
      logger,
    });
    this.portmap = new RpcServer({ programs: [portmapProgram(this.mappings)], logger });
  }

  /** NFS client connections open now (the NfsSessions metric). */
  get sessions(): number {
    return this.rpc.connectionCount;
  }

  async start(): Promise<NfsAddresses> {
    const { host, logger } = this.options;
    const nfsPort = await this.rpc.listen(host, this.options.nfsPort);
    const mountPort =
      this.options.mountPort === this.options.nfsPort && this.options.nfsPort !== 0
        ? nfsPort
        : await this.rpc.listen(host, this.options.mountPort);
    this.mappings.set({ program: NFS_PROGRAM, version: NFS_V3, protocol: IPPROTO_TCP, port: nfsPort });
    this.mappings.set({ program: MOUNT_PROGRAM, version: MOUNT_V3, protocol: IPPROTO_TCP, port: mountPort });
    let portmapPort: number | undefined;
    if (this.options.portmapPort !== undefined) {
      try {
        portmapPort = await this.portmap.listen(host, this.options.portmapPort);
        this.mappings.set({ program: PMAP_PROGRAM, version: PMAP_VERSION, protocol: IPPROTO_TCP, port: portmapPort });
      } catch (err) {
        logger.warn(
          { err: (err as Error).message, port: this.options.portmapPort },
          `no port mapper: port ${this.options.portmapPort} cannot be bound; clients must name the ports: mount -o vers=3,proto=tcp,port=${nfsPort},mountport=${mountPort},mountproto=tcp,nolock`,
        );
      }
    }
    return { host, nfsPort, mountPort, portmapPort };
  }

  async close(): Promise<void> {
    await Promise.all([this.rpc.close(), this.portmap.close()]);
  }
}
