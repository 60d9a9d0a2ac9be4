// Caps on the portal's connections, in total and per source address, so that
// connections that never log in (or a flood of them) cannot take every file
// descriptor of the process, and the management API with them. A connection
// over a cap is closed as soon as it is accepted. Reaching a cap is logged
// once, and leaving it again with how many were turned away meanwhile.
import type { Logger } from 'pino';
import type { ConnectionLimits } from './target-definition.ts';

export class ConnectionCaps {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  /** Connections turned away since the total cap was reached; undefined while below it. */
  private refusedOverall: number | undefined;
  /** The same per address at its cap. */
  private readonly refusedFrom = new Map<string, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {}

  /** Takes a place for a new connection from `address`; false when a cap is reached (close the connection). */
  admit(address: string): boolean {
    const open = this.byAddress.get(address) ?? 0;
    if (this.total >= this.limits.total) {
      if (this.refusedOverall === undefined) {
        this.logger.warn(
          { open: this.total, limit: this.limits.total, address },
          `iSCSI connection limit reached: ${this.total} connections are open, new ones are closed until some end (iscsi.connectionLimit)`,
        );
      }
      this.refusedOverall = (this.refusedOverall ?? 0) + 1;
      return false;
    }
    if (open >= this.limits.perAddress) {
      const refused = this.refusedFrom.get(address);
      if (refused === undefined) {
        this.logger.warn(
          { address, open, limit: this.limits.perAddress },
          `iSCSI connection limit per address reached: ${open} connections from ${address} are open, new ones from it are closed until some end (iscsi.connectionLimitPerAddress)`,
        );
      }
      this.refusedFrom.set(address, (refused ?? 0) + 1);
      return false;
    }
    this.total++;
    this.byAddress.set(address, open + 1);
    return true;
  }

  /** A connection admitted from `address` has closed. */
  release(address: string): void {
    this.total--;
    const open = (this.byAddress.get(address) ?? 1) - 1;
    if (open === 0) this.byAddress.delete(address);
    else this.byAddress.set(address, open);
    const refused = this.refusedFrom.get(address);
    if (refused !== undefined && open < this.limits.perAddress) {
      this.refusedFrom.delete(address);
      this.logger.info({ address, refused }, `iSCSI connections from ${address} are accepted again; ${refused} were closed at the limit`);
    }
    if (this.refusedOverall !== undefined && this.total < this.limits.total) {
      this.logger.info(
        { refused: this.refusedOverall },
        `iSCSI connections are accepted again; ${this.refusedOverall} were closed at the limit`,
      );
      this.refusedOverall = undefined;
    }
  }
}
