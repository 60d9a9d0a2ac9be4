// The iSCSI target server: accepts TCP connections on one portal and serves
// the targets it is given.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { writeBufferPool } from './command-flow.ts';
import { Connection, sourceAddress } from './connection.ts';
import type { AdoptedConnection } from './connection-handoff.ts';
import { ConnectionCaps } from './connection-caps.ts';
import { defaultLoginPacing, LoginGuard } from './login-guard.ts';
import type { LoginContext } from './login.ts';
import type { Session, SessionServices } from './session.ts';
import { SessionRegistry } from './session-registry.ts';
import { readIntoOneBuffer } from '../buffers/socket-reads.ts';
import {
  DEFAULT_LOGIN_TIMEOUT_MS,
  defaultConnectionLimits,
  defaultSessionLimits,
  type IscsiServerOptions,
  type IscsiTargetDefinition,
  type TargetSessionLimits,
} from './target-definition.ts';

/** What one read of a connection's socket can take: a 256 KiB Data-Out (tgt-tuned's segment size) in one system call. */
export const READ_BUFFER_BYTES = 256 * 1024 + 1024;

export class IscsiServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  /** Connections handed to the thread that serves their target (connection-handoff.ts). */
  private readonly adopted = new Set<AdoptedConnection>();
  private readonly targets: Map<string, IscsiTargetDefinition>;
  private readonly registry = new SessionRegistry<Session>();
  readonly limits: TargetSessionLimits;

  constructor(
    private readonly options: IscsiServerOptions,
    private readonly logger: Logger,
  ) {
    this.limits = { ...defaultSessionLimits, ...options.limits };
    this.targets = new Map(options.targets.map((t) => [t.name, t]));
    const login: LoginContext = {
      limits: this.limits,
      findTarget: (name) => this.targets.get(name),
      discoveryAuth: options.discoveryAuth,
      sessionExists: (tsih) => this.registry.has(tsih),
    };
    const services: SessionServices = {
      registry: this.registry,
      targets: () => [...this.targets.values()],
      commandWindow: this.limits.commandWindow,
      logger,
      writeBuffers: writeBufferPool(),
    };
    const caps = new ConnectionCaps({ ...defaultConnectionLimits, ...options.connectionLimits }, logger);
    const guard = new LoginGuard(options.loginPacing ?? defaultLoginPacing);
    this.server = createServer({ pauseOnConnect: true }, (accepted) => {
      const address = sourceAddress(accepted);
      if (!caps.admit(address)) {
        accepted.destroy();
        return;
      }
      // Nothing is read before the connection exists: reads arrive on later turns of the event loop.
      let connection: Connection;
      const socket = readIntoOneBuffer(accepted, READ_BUFFER_BYTES, {
        // Asked once while the socket is made, before the connection exists.
        directTarget: () => connection?.directTarget(),
        landed: (bytes) => connection.landed(bytes),
        receive: (bytes) => connection.receive(bytes),
      });
      this.sockets.add(socket);
      connection = new Connection(socket, {
        login,
        services,
        logger,
        nopInIntervalMs: options.nopInIntervalMs ?? 30_000,
        nopInTimeoutMs: options.nopInTimeoutMs ?? 30_000,
        loginTimeoutMs: options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS,
        guard,
        handedOff: (adopted) => {
          this.adopted.add(adopted);
          void adopted.ended.then(() => {
            this.adopted.delete(adopted);
            caps.release(address);
          });
        },
      });
      this.connections.add(connection);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.connections.delete(connection);
        // A connection handed over counts until its thread says it ended.
        if (!connection.handedOver) caps.release(address);
      });
    });
  }

  /** Serves one more target from now on: SendTargets lists it and logins to it are accepted. */
  addTarget(target: IscsiTargetDefinition): void {
    if (this.targets.has(target.name)) throw new Error(`target ${target.name} is served already`);
    this.targets.set(target.name, target);
    this.logger.info({ target: target.name }, 'target added');
  }

  /** Stops serving a target: it leaves SendTargets, new logins are refused and its sessions are closed. */
  removeTarget(name: string): void {
    if (!this.targets.delete(name)) return;
    for (const session of this.registry.ofTarget(name)) session.close('target removed');
    this.logger.info({ target: name }, 'target removed');
  }

  /** Sessions logged in to a target. */
  sessionCount(name: string): number {
    return this.registry.ofTarget(name).length;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        this.logger.info({ host: address.address, port: address.port, targets: [...this.targets.keys()] }, 'iSCSI portal listening');
        resolve(address);
      });
    });
  }

  /** Stops accepting logins, asks initiators to log out, then closes what remains. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The server counts only the sockets it accepted, which readIntoOneBuffer() replaced: wait for ours.
    const closed = [...this.sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    const adopted = [...this.adopted];
    for (const connection of [...this.connections, ...adopted]) connection.requestLogout();
    for (const connection of [...this.connections, ...adopted]) connection.close('server shutting down');
    const deadline = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 1000);
    await Promise.all([stopped, ...closed, ...adopted.map((a) => a.ended)]);
    clearTimeout(deadline);
  }
}
