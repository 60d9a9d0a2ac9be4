// The medium a direct-access (SBC) logical unit reads and writes. The SCSI
// core consumes it; src/volume implements it (a local file today, stored and
// cached volumes over the cache engine later). Offsets and lengths are in
// bytes and always whole logical blocks: the SCSI side checks ranges and
// alignment before it calls, so implementations need not.

/** A run of blocks with one provisioning state (GET LBA STATUS). */
export interface ProvisioningExtent {
  /** Byte offset of the run. */
  readonly offset: number;
  /** Length of the run in bytes. */
  readonly length: number;
  /** false: deallocated (reads return zeros); true: mapped. */
  readonly mapped: boolean;
}

/** Bytes lent by the medium: `release` once nothing uses `data` any more, and its buffer may be reused (never calling it only loses the reuse). */
export interface LentRead {
  readonly data: Buffer;
  readonly release: () => void;
}

export interface BlockDevice {
  /** Logical block size in bytes (512 or 4096 in practice). */
  readonly blockSize: number;
  /**
   * The unit the medium writes without a read-modify-write, a power-of-two
   * multiple of blockSize (e.g. 4096 under 512-byte blocks); default blockSize.
   */
  readonly physicalBlockSize?: number;
  /** Capacity in bytes, a whole number of blocks. */
  readonly size: number;
  /** Writes are refused with DATA PROTECT when true. */
  readonly readOnly: boolean;

  /** Reads `length` bytes at `offset`; never short. The buffer may be shared with other reads: do not write into it. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * read() into a buffer the medium lends: READ hands it to the transport,
   * which releases it once the socket has taken it (ScsiResponse.release).
   * Absent: READ uses read().
   */
  readLent?(offset: number, length: number): Promise<LentRead>;
  /**
   * Writes `data` at `offset`. With `fua` the data is durable before the
   * promise resolves (FUA bit); without it, durable after the next flush().
   */
  write(offset: number, data: Buffer, options?: { fua?: boolean }): Promise<void>;
  /** Makes every completed write durable (SYNCHRONIZE CACHE). */
  flush(): Promise<void>;
  /**
   * Releases the range (UNMAP, WRITE SAME with UNMAP). Afterwards the range
   * reads as zeros: the disk reports LBPRZ=1 on that promise.
   */
  discard(offset: number, length: number): Promise<void>;
  /**
   * Provisioning state from `offset` on, covering at least the block at
   * `offset` and at most `maxLength` bytes, as consecutive runs in order.
   */
  provisioning(offset: number, maxLength: number): Promise<ProvisioningExtent[]>;
  /** Advisory: the range will be read soon (PRE-FETCH). */
  prefetch?(offset: number, length: number): Promise<void>;
  close(): Promise<void>;
}
