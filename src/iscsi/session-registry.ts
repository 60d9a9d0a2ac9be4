// The sessions a server holds, by TSIH and by initiator port (for session
// reinstatement, RFC 7143 section 6.3.5) and by target (for resets that reach
// every session of a target).
export interface RegisteredSession {
  readonly tsih: number;
  readonly initiatorName: string;
  readonly isid: Buffer;
  readonly targetName: string | undefined;
  close(reason: string): void;
}

export class SessionRegistry<S extends RegisteredSession = RegisteredSession> {
  private readonly sessions = new Map<number, S>();
  /** Sessions handed to another thread (connection-handoff.ts): their TSIHs are taken, and a reinstatement closes them there. */
  private readonly elsewhere = new Map<number, RegisteredSession>();
  private lastTsih = 0;

  allocateTsih(): number {
    do {
      this.lastTsih = (this.lastTsih % 0xffff) + 1;
    } while (this.has(this.lastTsih));
    return this.lastTsih;
  }

  has(tsih: number): boolean {
    return this.sessions.has(tsih) || this.elsewhere.has(tsih);
  }

  add(session: S): void {
    this.sessions.set(session.tsih, session);
  }

  addElsewhere(session: RegisteredSession): void {
    this.elsewhere.set(session.tsih, session);
  }

  remove(session: S | RegisteredSession): void {
    if (this.sessions.get(session.tsih) === session) this.sessions.delete(session.tsih);
    if (this.elsewhere.get(session.tsih) === session) this.elsewhere.delete(session.tsih);
  }

  /** The session an initiator port already has with a target, here or elsewhere: a new login with TSIH 0 replaces it. */
  find(initiatorName: string, isid: Buffer, targetName: string | undefined): S | RegisteredSession | undefined {
    for (const session of [...this.sessions.values(), ...this.elsewhere.values()]) {
      if (session.initiatorName === initiatorName && session.isid.equals(isid) && session.targetName === targetName) return session;
    }
    return undefined;
  }

  /** The sessions this thread serves of a target. */
  ofTarget(targetName: string): S[] {
    return [...this.sessions.values()].filter((s) => s.targetName === targetName);
  }

  all(): S[] {
    return [...this.sessions.values()];
  }
}
