// The session's command numbering (RFC 7143 section 4.2.2): non-immediate
// commands are delivered in CmdSN order; ones outside [ExpCmdSN, MaxCmdSN] are
// ignored. The window widens by one as each command completes, so no more than
// `size` commands are ever outstanding.
import { serialAdd, serialLess } from './pdu.ts';

export class CommandWindow {
  private expCmdSN: number;
  private maxCmdSN: number;
  /** Commands that arrived ahead of a gap, by CmdSN. */
  private readonly waiting = new Map<number, () => void>();

  constructor(initialCmdSN: number, size: number) {
    this.expCmdSN = initialCmdSN >>> 0;
    this.maxCmdSN = serialAdd(initialCmdSN, size - 1);
  }

  get sequence(): { expCmdSN: number; maxCmdSN: number } {
    return { expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN };
  }

  /**
   * Admits a command: immediate ones run at once; non-immediate ones run in
   * CmdSN order. Returns false when the command is outside the window and must
   * be silently ignored.
   */
  admit(cmdSN: number, immediate: boolean, deliver: () => void): boolean {
    if (immediate) {
      deliver();
      return true;
    }
    if (serialLess(cmdSN, this.expCmdSN) || serialLess(this.maxCmdSN, cmdSN)) return false;
    if (cmdSN !== this.expCmdSN) {
      if (this.waiting.has(cmdSN)) return false;
      this.waiting.set(cmdSN, deliver);
      return true;
    }
    this.expCmdSN = serialAdd(this.expCmdSN, 1);
    deliver();
    for (let next = this.waiting.get(this.expCmdSN); next; next = this.waiting.get(this.expCmdSN)) {
      this.waiting.delete(this.expCmdSN);
      this.expCmdSN = serialAdd(this.expCmdSN, 1);
      next();
    }
    return true;
  }

  /** A command finished: the initiator may send one more. */
  completed(): void {
    this.maxCmdSN = serialAdd(this.maxCmdSN, 1);
  }

  /** Whether a CmdSN names a command the window has not received yet (task management). */
  notYetReceived(cmdSN: number): boolean {
    return !serialLess(cmdSN, this.expCmdSN) && !serialLess(this.maxCmdSN, cmdSN) && !this.waiting.has(cmdSN);
  }
}
