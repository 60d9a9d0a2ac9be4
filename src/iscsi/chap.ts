// Target side of the security negotiation stage: AuthMethod selection and CHAP
// (RFC 1994; RFC 7143 section 12.1.3), one-way or mutual.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChapCredentials, TargetAuth } from './target-definition.ts';
import { type KeyValue, type LoginStatus, LoginStatuses, formatHex, parseBinary, parseList, parseNumber } from './text.ts';

/** CHAP_A numbers: IANA PPP Authentication Algorithms, as open-iscsi and LIO use them. */
export const CHAP_ALGORITHMS = {
  5: { hash: 'md5', bytes: 16 },
  6: { hash: 'sha1', bytes: 20 },
  7: { hash: 'sha256', bytes: 32 },
  8: { hash: 'sha3-256', bytes: 32 },
} as const;
export type ChapAlgorithm = keyof typeof CHAP_ALGORITHMS;

/** Shortest initiator challenge accepted for mutual CHAP (MD5's digest length). */
export const MIN_CHALLENGE_BYTES = 16;
const MAX_CHALLENGE_BYTES = 1024;

export type SecurityStep =
  /** Send `answers`; the security stage goes on (the target must not set T yet). */
  | { readonly outcome: 'continue'; readonly answers: KeyValue[] }
  /** Send `answers`; the initiator is authenticated and may leave the security stage. */
  | { readonly outcome: 'authenticated'; readonly answers: KeyValue[] }
  /** End the login with a Login Response carrying `status`. */
  | { readonly outcome: 'failed'; readonly status: LoginStatus; readonly reason: string };

const CHAP_KEYS = new Set(['AuthMethod', 'CHAP_A', 'CHAP_N', 'CHAP_R', 'CHAP_I', 'CHAP_C']);

type State = 'method' | 'algorithm' | 'response' | 'done' | 'failed';

/** The CHAP response RFC 1994 defines: H(identifier || secret || challenge). */
export function chapResponse(algorithm: ChapAlgorithm, id: number, secret: string, challenge: Uint8Array): Buffer {
  return createHash(CHAP_ALGORITHMS[algorithm].hash)
    .update(Uint8Array.of(id))
    .update(Buffer.from(secret, 'utf8'))
    .update(challenge)
    .digest();
}

export class ChapAuthenticator {
  readonly #chap: ChapCredentials | undefined;
  readonly #mutual: ChapCredentials | undefined;
  #state: State = 'method';
  #algorithm: ChapAlgorithm = 5;
  #id = 0;
  #challenge: Buffer = Buffer.alloc(0);
  #user: string | undefined;

  /** `auth` absent or without `chap`: no authentication required, AuthMethod=None accepted. */
  constructor(auth?: TargetAuth) {
    this.#chap = auth?.chap;
    this.#mutual = auth?.mutualChap;
  }

  /** Whether a login that skips the security stage must be refused (02/01). */
  get required(): boolean {
    return this.#chap !== undefined;
  }

  get authenticated(): boolean {
    return this.#state === 'done';
  }

  /** The challenge is out: the next security keys carry the initiator's proof, and their answer is a verdict. */
  get awaitingResponse(): boolean {
    return this.#state === 'response';
  }

  /** CHAP_N the initiator authenticated as. */
  get user(): string | undefined {
    return this.#user;
  }

  /**
   * Handles the security keys of one Login Request (see negotiation.ts isSecurityKey). A request
   * without AuthMethod counts as offering None. Never throws.
   */
  respond(pairs: readonly KeyValue[]): SecurityStep {
    const answers: KeyValue[] = [];
    const values = new Map(pairs.map((p) => [p.key, p.value]));
    const fail = (reason: string): SecurityStep => {
      this.#state = 'failed';
      return { outcome: 'failed', status: LoginStatuses.authenticationFailure, reason };
    };
    if (this.#state === 'failed') return fail('security negotiation already failed');
    if (this.#state === 'done' && pairs.length === 0) return { outcome: 'authenticated', answers };
    for (const { key } of pairs) {
      if (!CHAP_KEYS.has(key)) {
        answers.push({ key, value: 'NotUnderstood' });
      } else if (key === 'AuthMethod' && this.#state !== 'method') {
        return fail('AuthMethod offered twice');
      }
    }

    if (this.#state === 'method') {
      const offer = values.get('AuthMethod');
      const methods = offer === undefined ? ['None'] : (parseList(offer) ?? []);
      if (this.#chap !== undefined && methods.includes('CHAP')) {
        answers.push({ key: 'AuthMethod', value: 'CHAP' });
        this.#state = 'algorithm';
      } else if (this.#chap === undefined && methods.includes('None')) {
        answers.push({ key: 'AuthMethod', value: 'None' });
        this.#state = 'done';
        return { outcome: 'authenticated', answers };
      } else {
        return fail(`no acceptable AuthMethod in ${offer ?? '(none offered)'}`);
      }
      if (!values.has('CHAP_A')) return { outcome: 'continue', answers };
    }

    if (this.#state === 'algorithm') {
      const offer = values.get('CHAP_A');
      if (offer === undefined) return fail('CHAP_A expected');
      const chosen = (parseList(offer) ?? [])
        .map((item) => parseNumber(item))
        .find((n): n is ChapAlgorithm => n !== undefined && n in CHAP_ALGORITHMS);
      if (chosen === undefined) return fail(`no supported CHAP_A in ${offer}`);
      this.#algorithm = chosen;
      this.#id = randomBytes(1)[0]!;
      // As long as the digest, like LIO and open-iscsi.
      this.#challenge = randomBytes(CHAP_ALGORITHMS[chosen].bytes);
      this.#state = 'response';
      answers.push(
        { key: 'CHAP_A', value: String(chosen) },
        { key: 'CHAP_I', value: String(this.#id) },
        { key: 'CHAP_C', value: formatHex(this.#challenge) },
      );
      return { outcome: 'continue', answers };
    }

    if (this.#state === 'response') {
      const step = this.#verify(values, answers);
      return typeof step === 'string' ? fail(step) : step;
    }
    return fail('security keys after authentication completed');
  }

  /** Checks CHAP_N/CHAP_R and answers a mutual challenge; a string is the failure reason. */
  #verify(values: ReadonlyMap<string, string>, answers: KeyValue[]): SecurityStep | string {
    const chap = this.#chap!;
    const name = values.get('CHAP_N');
    const response = values.get('CHAP_R');
    if (name === undefined || response === undefined) return 'CHAP_N and CHAP_R expected';
    const received = parseBinary(response);
    const expected = chapResponse(this.#algorithm, this.#id, chap.secret, this.#challenge);
    const nameOk = name === chap.user;
    // Compare even when the name is wrong so timing does not tell which of the two failed.
    const responseOk = received !== undefined && received.length === expected.length && timingSafeEqual(received, expected);
    if (!nameOk || !responseOk) return `CHAP authentication of ${JSON.stringify(name)} failed`;
    this.#user = name;

    const idValue = values.get('CHAP_I');
    const challengeValue = values.get('CHAP_C');
    if (idValue !== undefined || challengeValue !== undefined) {
      if (this.#mutual === undefined) return 'mutual CHAP requested but the target has no mutual credentials';
      const id = idValue === undefined ? undefined : parseNumber(idValue, 0, 255);
      const challenge = challengeValue === undefined ? undefined : parseBinary(challengeValue);
      if (id === undefined || challenge === undefined) return 'malformed CHAP_I or CHAP_C';
      if (challenge.length < MIN_CHALLENGE_BYTES || challenge.length > MAX_CHALLENGE_BYTES) {
        return `initiator challenge of ${challenge.length} bytes refused`;
      }
      if (challenge.equals(this.#challenge)) return 'initiator reflected the target challenge';
      answers.push(
        { key: 'CHAP_N', value: this.#mutual.user },
        { key: 'CHAP_R', value: formatHex(chapResponse(this.#algorithm, id, this.#mutual.secret, challenge)) },
      );
    }
    this.#state = 'done';
    return { outcome: 'authenticated', answers };
  }
}
