// The serving side of a connection handoff (connection-handoff.ts): a thread
// that serves some targets' sessions takes up connections logged in on the
// portal's thread, each on a socket of its own over the descriptor it was
// given, with a registry, a write-buffer pool and task management of its own
// (every session of its targets is here, so a target reset reaches them all).
import type { Logger } from 'pino';
import { writeBufferPool } from './command-flow.ts';
import { Connection } from './connection.ts';
import type { ConnectionHandoff } from './connection-handoff.ts';
import { defaultLoginPacing, LoginGuard } from './login-guard.ts';
import { READ_BUFFER_BYTES } from './server.ts';
import type { Session, SessionServices } from './session.ts';
import { SessionRegistry } from './session-registry.ts';
import { socketOnDescriptor } from '../buffers/socket-reads.ts';
import type { IscsiTargetDefinition } from './target-definition.ts';

export class AdoptedConnections {
  private readonly targets: Map<string, IscsiTargetDefinition>;
  private readonly registry = new SessionRegistry<Session>();
  private readonly writeBuffers = writeBufferPool();
  private readonly connections = new Map<number, Connection>();
  private nextId = 1;

  constructor(
    targets: readonly IscsiTargetDefinition[],
    private readonly logger: Logger,
  ) {
    this.targets = new Map(targets.map((t) => [t.name, t]));
  }

  /** Takes up a handed-over connection; `ended` is called once it is closed. Returns its id here. */
  adopt(handoff: ConnectionHandoff, ended: () => void): number {
    const { agreement: wire } = handoff;
    const target = this.targets.get(wire.targetName);
    if (!target) throw new Error(`target ${wire.targetName} is not served here`);
    const { targetName: _, ...rest } = wire;
    const agreement = { ...rest, isid: Buffer.from(wire.isid), target };
    const services: SessionServices = {
      registry: this.registry,
      targets: () => [...this.targets.values()],
      commandWindow: handoff.limits.commandWindow,
      logger: this.logger,
      writeBuffers: this.writeBuffers,
    };
    let connection: Connection;
    const socket = socketOnDescriptor(handoff.fd, READ_BUFFER_BYTES, {
      directTarget: () => connection?.directTarget(),
      landed: (bytes) => connection.landed(bytes),
      receive: (bytes) => connection.receive(bytes),
    });
    connection = new Connection(socket, {
      // Logins happen on the portal's thread: this one never answers a Login Request.
      login: { limits: handoff.limits, findTarget: () => undefined, sessionExists: () => false },
      services,
      logger: this.logger,
      nopInIntervalMs: handoff.nopInIntervalMs,
      nopInTimeoutMs: handoff.nopInTimeoutMs,
      loginTimeoutMs: 0,
      guard: new LoginGuard(defaultLoginPacing),
    });
    const id = this.nextId++;
    this.connections.set(id, connection);
    socket.on('close', () => {
      this.connections.delete(id);
      ended();
    });
    connection.resume(handoff.tsih, agreement, handoff.statSN);
    return id;
  }

  close(id: number, reason: string): void {
    this.connections.get(id)?.close(reason);
  }

  requestLogout(id: number): void {
    this.connections.get(id)?.requestLogout();
  }
}
