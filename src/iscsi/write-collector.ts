// Gathers a write command's Data-Out (RFC 7143 sections 4.2.5, 11.7, 11.8):
// immediate data, then unsolicited Data-Out up to FirstBurstLength, then
// solicited bursts requested by R2T, at most MaxOutstandingR2T at a time, each
// at most MaxBurstLength. Data PDUs must arrive in order within a sequence.
import { PduError, RejectReason, RESERVED_TAG, type DataOutPdu } from './pdu.ts';

export interface BurstRequest {
  readonly ttt: number;
  readonly r2tSN: number;
  readonly offset: number;
  readonly length: number;
}

interface Sequence {
  readonly ttt: number;
  readonly end: number;
  next: number;
  dataSN: number;
}

export interface CollectorLimits {
  readonly firstBurstLength: number;
  readonly maxBurstLength: number;
  readonly maxOutstandingR2T: number;
  readonly initialR2T: boolean;
}

export class WriteCollector {
  private received = 0;
  private unsolicited: Sequence | undefined;
  private readonly bursts = new Map<number, Sequence>();
  /** First offset not yet asked for by an R2T. */
  private unrequested: number;
  private nextR2TSN = 0;

  constructor(
    /** Where the bytes land, exactly the expected transfer length; immediate data the reader placed at its start is not copied again. */
    private readonly buffer: Buffer,
    immediate: Buffer,
    /** The command PDU's F bit: no unsolicited Data-Out follows. */
    finalInCommand: boolean,
    private readonly limits: CollectorLimits,
    private readonly allocateTtt: () => number,
  ) {
    const length = buffer.length;
    if (immediate.length > length) throw new PduError(RejectReason.ProtocolError, 'immediate data longer than the expected transfer');
    if (immediate.length > limits.firstBurstLength)
      throw new PduError(RejectReason.ProtocolError, 'immediate data longer than FirstBurstLength');
    if (!isAt(immediate, buffer, 0)) immediate.copy(buffer, 0);
    this.received = immediate.length;
    const unsolicitedEnd = finalInCommand || limits.initialR2T ? immediate.length : Math.min(limits.firstBurstLength, length);
    if (unsolicitedEnd > immediate.length) {
      this.unsolicited = { ttt: RESERVED_TAG, end: unsolicitedEnd, next: immediate.length, dataSN: 0 };
    }
    this.unrequested = unsolicitedEnd;
  }

  get length(): number {
    return this.buffer.length;
  }

  get complete(): boolean {
    return this.received === this.length;
  }

  get data(): Buffer {
    return this.buffer;
  }

  /**
   * R2Ts to send now: as many bursts as MaxOutstandingR2T allows, once the
   * unsolicited sequence is over (the initiator may end it early with F).
   */
  requestBursts(): BurstRequest[] {
    const requests: BurstRequest[] = [];
    while (!this.unsolicited && this.unrequested < this.length && this.bursts.size < this.limits.maxOutstandingR2T) {
      const length = Math.min(this.limits.maxBurstLength, this.length - this.unrequested);
      const ttt = this.allocateTtt();
      const request = { ttt, r2tSN: this.nextR2TSN++, offset: this.unrequested, length };
      this.bursts.set(ttt, { ttt, end: this.unrequested + length, next: this.unrequested, dataSN: 0 });
      this.unrequested += length;
      requests.push(request);
    }
    return requests;
  }

  /**
   * Where a Data-Out's data would go if it fits its sequence: the reader
   * copies it there off the socket and accept() then has nothing to copy.
   * Bytes placed for a PDU that accept() refuses land only where no accepted
   * data is yet, and the command fails anyway.
   */
  destination(ttt: number, offset: number, length: number): Buffer | undefined {
    const sequence = ttt === RESERVED_TAG ? this.unsolicited : this.bursts.get(ttt);
    if (!sequence || offset !== sequence.next || offset + length > sequence.end) return undefined;
    return this.buffer.subarray(offset, offset + length);
  }

  /** Takes one Data-Out PDU; throws PduError when it does not fit any open sequence. */
  accept(pdu: DataOutPdu): void {
    const sequence = pdu.ttt === RESERVED_TAG ? this.unsolicited : this.bursts.get(pdu.ttt);
    if (!sequence) throw new PduError(RejectReason.ProtocolError, `Data-Out with TTT 0x${pdu.ttt.toString(16)} matches no open sequence`);
    if (pdu.bufferOffset !== sequence.next) {
      throw new PduError(RejectReason.ProtocolError, `Data-Out at offset ${pdu.bufferOffset}, expected ${sequence.next}`);
    }
    if (pdu.dataSN !== sequence.dataSN) {
      throw new PduError(RejectReason.ProtocolError, `Data-Out DataSN ${pdu.dataSN}, expected ${sequence.dataSN}`);
    }
    const end = pdu.bufferOffset + pdu.data.length;
    if (end > sequence.end) throw new PduError(RejectReason.ProtocolError, 'Data-Out runs past the end of its sequence');
    const endsEarly = pdu.final && sequence === this.unsolicited;
    if (!endsEarly && pdu.final !== (end === sequence.end)) {
      throw new PduError(
        RejectReason.ProtocolError,
        pdu.final ? 'Data-Out F bit before the end of its sequence' : 'last Data-Out of a sequence without the F bit',
      );
    }
    if (!isAt(pdu.data, this.buffer, pdu.bufferOffset)) pdu.data.copy(this.buffer, pdu.bufferOffset);
    this.received += pdu.data.length;
    sequence.next = end;
    sequence.dataSN++;
    if (sequence === this.unsolicited) {
      if (pdu.final) {
        this.unsolicited = undefined;
        this.unrequested = end;
      }
    } else if (end === sequence.end) {
      this.bursts.delete(sequence.ttt);
    }
  }
}

/** Whether `data` already lies in `buffer` at `offset` (the reader copied it there off the socket). */
function isAt(data: Buffer, buffer: Buffer, offset: number): boolean {
  return data.buffer === buffer.buffer && data.byteOffset === buffer.byteOffset + offset;
}
