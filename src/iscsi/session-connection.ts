// What a session and its parts need from the connection they run on.
import type { RawPdu, RejectReason, Sequence } from './pdu.ts';

export interface SessionConnection {
  /** Sends a PDU built for the given sequence numbers; `advanceStatSN` consumes a StatSN. */
  send(build: (seq: Sequence) => Buffer, data?: Buffer, advanceStatSN?: boolean, written?: () => void): void;
  /** Bytes sent but not yet taken by the kernel. */
  unsent(): number;
  /** Resolves once the unsent bytes have drained (or the connection closed). */
  drained(): Promise<void>;
  reject(reason: RejectReason, pdu: RawPdu): void;
  /** Ends the connection once what was queued has been written. */
  close(reason: string): void;
  /** "address:port,tpgt" of the portal the connection came in on. */
  readonly portal: string;
}
