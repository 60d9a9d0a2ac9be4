// Block I/O over iSCSI for tests: a session on a disk LUN through the small
// test initiator, with READ(16), WRITE(16) and SYNCHRONIZE CACHE(10). The
// real initiators (libiscsi's tools, QEMU and Linux) are used where the
// initiator itself is under test.
import { TestInitiator, type LoginOptions } from './initiator.ts';

export class BlockClient {
  private constructor(
    private readonly initiator: TestInitiator,
    readonly blockSize: number,
  ) {}

  static async login(
    port: number,
    target: string,
    options: Omit<LoginOptions, 'targetName'> & { blockSize?: number } = {},
  ): Promise<BlockClient> {
    const initiator = await TestInitiator.connect(port);
    try {
      await initiator.login({ ...options, targetName: target });
    } catch (error) {
      initiator.close();
      throw error;
    }
    return new BlockClient(initiator, options.blockSize ?? 512);
  }

  get closed(): boolean {
    return this.initiator.closed;
  }

  /** A command, sent again after a UNIT ATTENTION (the first command of a session gets one: power on or reset). */
  private async command(cdb: Buffer | number[], options: { read?: number; write?: Buffer; timeoutMs: number }) {
    for (let attempt = 0; ; attempt++) {
      const r = await this.initiator.command(cdb, options);
      const unitAttention = r.status === 2 && (r.sense[2]! & 0x0f) === 0x06;
      if (!unitAttention || attempt === 3) return r;
    }
  }

  async read(lba: number, blocks: number): Promise<Buffer> {
    const cdb = Buffer.alloc(16);
    cdb[0] = 0x88;
    cdb.writeBigUInt64BE(BigInt(lba), 2);
    cdb.writeUInt32BE(blocks, 10);
    const r = await this.command(cdb, { read: blocks * this.blockSize, timeoutMs: 30_000 });
    if (r.status !== 0) throw new Error(`READ(16) at ${lba} answered status ${r.status}, sense ${r.sense.toString('hex')}`);
    return r.data;
  }

  async write(lba: number, data: Buffer, fua = false): Promise<void> {
    const cdb = Buffer.alloc(16);
    cdb[0] = 0x8a;
    cdb[1] = fua ? 0x08 : 0;
    cdb.writeBigUInt64BE(BigInt(lba), 2);
    cdb.writeUInt32BE(data.length / this.blockSize, 10);
    const r = await this.command(cdb, { write: data, timeoutMs: 30_000 });
    if (r.status !== 0) throw new Error(`WRITE(16) at ${lba} answered status ${r.status}, sense ${r.sense.toString('hex')}`);
  }

  async synchronizeCache(): Promise<void> {
    const r = await this.command([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], { timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`SYNCHRONIZE CACHE answered status ${r.status}, sense ${r.sense.toString('hex')}`);
  }

  async logout(): Promise<void> {
    await this.initiator.logout().catch(() => undefined);
    this.initiator.close();
  }

  close(): void {
    this.initiator.close();
  }
}
