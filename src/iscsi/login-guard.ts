// Slows down guessing of CHAP secrets, per source address. After a few failed
// authentications from an address, every verdict on a CHAP proof from it (a
// success too, so that a quick answer gives no guess away) is held back, the
// wait doubling with each failure up to a ceiling; and its verdicts come one
// at a time, so that opening connections in parallel gains nothing. A proof
// that succeeds clears the address; failures are forgotten after a quiet spell.
// The ceiling stays below the login timeout, so an initiator whose secret was
// just put right still gets in.

export interface LoginPacing {
  /** Failures from one address answered at once before the waits begin. */
  readonly freeFailures: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** An address without a failure for this long starts afresh. */
  readonly forgetMs: number;
}

export const defaultLoginPacing: LoginPacing = { freeFailures: 3, firstDelayMs: 1_000, maxDelayMs: 8_000, forgetMs: 15 * 60_000 };

interface AddressRecord {
  failures: number;
  lastFailureAt: number;
  /** When the last held verdict of this address is (or was) sent. */
  lastVerdictAt: number;
}

/** Above this many addresses, those whose failures are forgotten are swept out. */
const SWEEP_ABOVE = 4096;

export class LoginGuard {
  private readonly addresses = new Map<string, AddressRecord>();

  constructor(
    private readonly pacing: LoginPacing = defaultLoginPacing,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a verdict on a CHAP proof from `address` and says how long to hold
   * it before it is sent (0: at once), and how many failures the address has.
   */
  judge(address: string, verified: boolean): { delayMs: number; failures: number } {
    const now = this.now();
    const record = this.current(address, now);
    const delayMs = record ? this.hold(record, now) : 0;
    if (verified) {
      this.addresses.delete(address);
      return { delayMs, failures: 0 };
    }
    const updated = record ?? { failures: 0, lastFailureAt: now, lastVerdictAt: now };
    updated.failures++;
    updated.lastFailureAt = now;
    this.addresses.set(address, updated);
    if (this.addresses.size > SWEEP_ABOVE) this.sweep(now);
    return { delayMs, failures: updated.failures };
  }

  /** The wait for this verdict: it comes a full delay after the later of now and the address's previous held verdict. */
  private hold(record: AddressRecord, now: number): number {
    const { freeFailures, firstDelayMs, maxDelayMs } = this.pacing;
    if (record.failures < freeFailures) return 0;
    const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** (record.failures - freeFailures));
    record.lastVerdictAt = Math.max(now, record.lastVerdictAt) + delay;
    return record.lastVerdictAt - now;
  }

  private current(address: string, now: number): AddressRecord | undefined {
    const record = this.addresses.get(address);
    if (record && now - record.lastFailureAt >= this.pacing.forgetMs) {
      this.addresses.delete(address);
      return undefined;
    }
    return record;
  }

  private sweep(now: number): void {
    for (const address of [...this.addresses.keys()]) this.current(address, now);
  }
}
