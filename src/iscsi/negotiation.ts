// Login text-key negotiation, target side (RFC 7143 sections 6.2 and 13). Security keys
// (AuthMethod, CHAP_*) belong to chap.ts; everything else a Login Request carries comes here.
import type { TargetSessionLimits } from '../config/iscsi-limits.ts';
import { type KeyValue, LoginNegotiationError, LoginStatuses, formatBoolean, parseBoolean, parseList, parseNumber } from './text.ts';

export type SessionType = 'Normal' | 'Discovery';
export type NegotiationStage = 'security' | 'operational';

/** What the session and this connection run with after login; RFC defaults where nothing was negotiated. */
export interface OperationalParameters {
  readonly headerDigest: boolean;
  readonly dataDigest: boolean;
  /** Largest data segment the TARGET may send: the initiator's declaration. */
  readonly maxRecvDataSegmentLength: number;
  /** Largest data segment the initiator may send: ours. */
  readonly targetMaxRecvDataSegmentLength: number;
  readonly maxBurstLength: number;
  readonly firstBurstLength: number;
  readonly initialR2T: boolean;
  readonly immediateData: boolean;
  readonly maxOutstandingR2T: number;
  readonly dataPDUInOrder: boolean;
  readonly dataSequenceInOrder: boolean;
  readonly errorRecoveryLevel: number;
  readonly maxConnections: number;
  readonly defaultTime2Wait: number;
  readonly defaultTime2Retain: number;
}

/** What the initiator declared about itself and the session. */
export interface LoginDeclarations {
  readonly sessionType: SessionType;
  readonly initiatorName?: string;
  readonly initiatorAlias?: string;
  readonly targetName?: string;
}

export interface NegotiatorOptions {
  /** False for a connection added to an existing session (MC/S): leading-only keys are refused. */
  readonly leadingConnection?: boolean;
  /** When already known; otherwise taken from the first request (RFC default Normal). */
  readonly sessionType?: SessionType;
  readonly targetAlias?: string;
  readonly portalGroupTag?: number;
}

const SEGMENT_MIN = 512;
const SEGMENT_MAX = 2 ** 24 - 1;
const DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;
const NAME_MAX_BYTES = 223;

interface NumberKey {
  readonly kind: 'number';
  readonly fn: 'min' | 'max';
  readonly min: number;
  readonly max: number;
  readonly def: number;
  readonly ours: (limits: TargetSessionLimits) => number;
}
interface BooleanKey {
  readonly kind: 'boolean';
  readonly fn: 'or' | 'and';
  readonly def: boolean;
  readonly ours: (limits: TargetSessionLimits) => boolean;
}
interface DigestKey {
  readonly kind: 'digest';
  readonly ours: (limits: TargetSessionLimits) => readonly string[];
}
type NegotiatedKey = (NumberKey | BooleanKey | DigestKey) & {
  /** LO: only on the leading connection; such keys are also session-wide. */
  readonly leadingOnly: boolean;
  readonly irrelevantInDiscovery: boolean;
};

const NEGOTIATED: Readonly<Record<string, NegotiatedKey>> = {
  HeaderDigest: { kind: 'digest', ours: (l) => l.headerDigest, leadingOnly: false, irrelevantInDiscovery: false },
  DataDigest: { kind: 'digest', ours: (l) => l.dataDigest, leadingOnly: false, irrelevantInDiscovery: false },
  MaxConnections: sessionNumber('min', 1, 65535, 1, (l) => l.maxConnections, true),
  InitialR2T: sessionBoolean('or', true, (l) => l.initialR2T),
  ImmediateData: sessionBoolean('and', true, (l) => l.immediateData),
  MaxBurstLength: sessionNumber('min', SEGMENT_MIN, SEGMENT_MAX, 262144, (l) => l.maxBurstLength, true),
  FirstBurstLength: sessionNumber('min', SEGMENT_MIN, SEGMENT_MAX, 65536, (l) => Math.min(l.firstBurstLength, l.maxBurstLength), true),
  DefaultTime2Wait: sessionNumber('max', 0, 3600, 2, (l) => l.defaultTime2Wait, false),
  DefaultTime2Retain: sessionNumber('min', 0, 3600, 20, (l) => l.defaultTime2Retain, false),
  MaxOutstandingR2T: sessionNumber('min', 1, 65535, 1, (l) => l.maxOutstandingR2T, true),
  // We deliver and accept data in order only.
  DataPDUInOrder: sessionBoolean('or', true, () => true),
  DataSequenceInOrder: sessionBoolean('or', true, () => true),
  // Only session restart (level 0) is implemented.
  ErrorRecoveryLevel: sessionNumber('min', 0, 2, 0, () => 0, false),
};

function sessionNumber(
  fn: 'min' | 'max',
  min: number,
  max: number,
  def: number,
  ours: (l: TargetSessionLimits) => number,
  irrelevantInDiscovery: boolean,
): NegotiatedKey {
  return { kind: 'number', fn, min, max, def, ours, leadingOnly: true, irrelevantInDiscovery };
}

function sessionBoolean(fn: 'or' | 'and', def: boolean, ours: (l: TargetSessionLimits) => boolean): NegotiatedKey {
  return { kind: 'boolean', fn, def, ours, leadingOnly: true, irrelevantInDiscovery: true };
}

const SECURITY_KEY = /^(AuthMethod|CHAP_[AICNR]|SRP_.+|KRB_AP_RE[QP]|SPKM_.+)$/;

/** Keys of the security negotiation (RFC 7143 section 12), which chap.ts handles. */
export function isSecurityKey(key: string): boolean {
  return SECURITY_KEY.test(key);
}

const REPEATABLE_DECLARATIONS = new Set(['InitiatorName', 'InitiatorAlias', 'TargetName', 'SessionType']);
const TARGET_DECLARED = new Set(['TargetAlias', 'TargetAddress', 'TargetPortalGroupTag']);
// RFC 7143 section 13.26: markers are obsolete; answer No to the switches and Reject to the intervals.
const OBSOLETE_ANSWERS: Readonly<Record<string, string>> = {
  OFMarker: 'No',
  IFMarker: 'No',
  OFMarkInt: 'Reject',
  IFMarkInt: 'Reject',
};

function initiatorError(message: string): LoginNegotiationError {
  return new LoginNegotiationError(LoginStatuses.initiatorError, message);
}

export class Negotiator {
  readonly #limits: TargetSessionLimits;
  readonly #leading: boolean;
  readonly #targetAlias: string | undefined;
  readonly #portalGroupTag: number | undefined;
  #sessionType: SessionType | undefined;
  #initiatorName: string | undefined;
  #initiatorAlias: string | undefined;
  #targetName: string | undefined;
  #initiatorMaxRecv = DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  #firstRequest = true;
  #ownKeysSent = false;
  /** Keys already negotiated or declared by either side, with the canonical result value. */
  readonly #settled = new Map<string, string | undefined>();
  /** Our offers still waiting for the initiator's answer. */
  readonly #offered = new Map<string, string>();

  constructor(limits: TargetSessionLimits, options: NegotiatorOptions = {}) {
    this.#limits = limits;
    this.#leading = options.leadingConnection ?? true;
    this.#sessionType = options.sessionType;
    this.#targetAlias = options.targetAlias;
    this.#portalGroupTag = options.portalGroupTag;
  }

  get sessionType(): SessionType {
    return this.#sessionType ?? 'Normal';
  }

  get declarations(): LoginDeclarations {
    return {
      sessionType: this.sessionType,
      ...(this.#initiatorName !== undefined && { initiatorName: this.#initiatorName }),
      ...(this.#initiatorAlias !== undefined && { initiatorAlias: this.#initiatorAlias }),
      ...(this.#targetName !== undefined && { targetName: this.#targetName }),
    };
  }

  /** Our offers the initiator has not answered yet; the login must not reach Full Feature while any remain. */
  get awaitingAnswers(): readonly string[] {
    return [...this.#offered.keys()];
  }

  /**
   * True when the target has keys it must send (offers, or a MaxRecvDataSegmentLength below the
   * 8192 default), so a login may not jump from the security stage straight to Full Feature.
   */
  get operationalStageRequired(): boolean {
    return (
      !this.#ownKeysSent &&
      (this.#limits.maxRecvDataSegmentLength < DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH || this.#requiredOffers([]).length > 0)
    );
  }

  /**
   * Answers the non-security keys of one Login Request (data segment reassembled across C-bit PDUs).
   * In the first operational-stage call the target's own declarations and offers are appended.
   * Throws LoginNegotiationError when the login must fail.
   */
  respond(pairs: readonly KeyValue[], stage: NegotiationStage): KeyValue[] {
    const answers: KeyValue[] = [];
    if (this.#firstRequest) this.#acceptFirstRequest(pairs, answers);
    // MaxBurstLength first: FirstBurstLength's answer must not exceed it.
    const ordered = [...pairs].sort((a, b) => rank(a.key) - rank(b.key));
    const byKey = new Map<string, string>();
    for (const { key, value } of ordered) {
      const answer = this.#answer(key, value);
      if (answer !== undefined) byKey.set(key, answer);
    }
    for (const { key } of pairs) {
      const value = byKey.get(key);
      if (value !== undefined) answers.push({ key, value });
    }
    if (stage === 'operational' && !this.#ownKeysSent) {
      this.#ownKeysSent = true;
      answers.push({ key: 'MaxRecvDataSegmentLength', value: String(this.#limits.maxRecvDataSegmentLength) });
      for (const offer of this.#requiredOffers(pairs)) {
        this.#offered.set(offer.key, offer.value);
        answers.push(offer);
      }
    }
    return answers;
  }

  result(): OperationalParameters {
    const num = (key: string): number => {
      const spec = NEGOTIATED[key] as NumberKey;
      const value = this.#settled.get(key);
      return value === undefined ? spec.def : Number(value);
    };
    const bool = (key: string): boolean => {
      const value = this.#settled.get(key);
      return value === undefined ? (NEGOTIATED[key] as BooleanKey).def : value === 'Yes';
    };
    const maxBurstLength = num('MaxBurstLength');
    return {
      headerDigest: this.#settled.get('HeaderDigest') === 'CRC32C',
      dataDigest: this.#settled.get('DataDigest') === 'CRC32C',
      maxRecvDataSegmentLength: this.#initiatorMaxRecv,
      // Undeclared, the initiator assumes the default for us.
      targetMaxRecvDataSegmentLength: this.#ownKeysSent ? this.#limits.maxRecvDataSegmentLength : DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH,
      maxBurstLength,
      firstBurstLength: Math.min(num('FirstBurstLength'), maxBurstLength),
      initialR2T: bool('InitialR2T'),
      immediateData: bool('ImmediateData'),
      maxOutstandingR2T: num('MaxOutstandingR2T'),
      dataPDUInOrder: bool('DataPDUInOrder'),
      dataSequenceInOrder: bool('DataSequenceInOrder'),
      errorRecoveryLevel: num('ErrorRecoveryLevel'),
      maxConnections: num('MaxConnections'),
      defaultTime2Wait: num('DefaultTime2Wait'),
      defaultTime2Retain: num('DefaultTime2Retain'),
    };
  }

  /** RFC 7143 section 13: the first Login Request names the initiator, the session type and (Normal) the target. */
  #acceptFirstRequest(pairs: readonly KeyValue[], answers: KeyValue[]): void {
    this.#firstRequest = false;
    const get = (key: string): string | undefined => pairs.find((p) => p.key === key)?.value;
    if (get('InitiatorName') === undefined) {
      throw new LoginNegotiationError(LoginStatuses.missingParameter, 'InitiatorName missing from the first Login Request');
    }
    const sessionType = get('SessionType');
    if (sessionType !== undefined && this.#leading) {
      if (sessionType !== 'Normal' && sessionType !== 'Discovery') {
        throw new LoginNegotiationError(LoginStatuses.sessionTypeNotSupported, `SessionType ${sessionType} not supported`);
      }
      if (this.#sessionType !== undefined && this.#sessionType !== sessionType) {
        throw initiatorError(`SessionType ${sessionType} contradicts ${this.#sessionType}`);
      }
      this.#sessionType = sessionType;
    }
    this.#sessionType ??= 'Normal';
    if (this.#sessionType === 'Normal') {
      if (get('TargetName') === undefined) {
        throw new LoginNegotiationError(LoginStatuses.missingParameter, 'TargetName missing from a Normal session login');
      }
      if (this.#leading && this.#portalGroupTag !== undefined) {
        answers.push({ key: 'TargetPortalGroupTag', value: String(this.#portalGroupTag) });
      }
      if (this.#targetAlias !== undefined) answers.push({ key: 'TargetAlias', value: this.#targetAlias });
    }
  }

  /** The answer to send for one received key, or undefined when none is due (declarations, answers to our offers). */
  #answer(key: string, value: string): string | undefined {
    if (isSecurityKey(key)) throw initiatorError(`security key ${key} outside security negotiation`);
    const offered = this.#offered.get(key);
    if (offered !== undefined) {
      this.#offered.delete(key);
      this.#acceptAnswer(key, offered, value);
      return undefined;
    }
    if (this.#settled.has(key)) {
      // libiscsi repeats its declarations in every Login Request of the security stage.
      if (REPEATABLE_DECLARATIONS.has(key) && this.#settled.get(key) === value) return undefined;
      throw initiatorError(`key ${key} negotiated twice`);
    }
    const spec = NEGOTIATED[key];
    if (spec !== undefined) {
      if (spec.leadingOnly && !this.#leading) throw initiatorError(`leading-only key ${key} on a non-leading connection`);
      if (spec.irrelevantInDiscovery && this.sessionType === 'Discovery') {
        this.#settled.set(key, undefined);
        return 'Irrelevant';
      }
      const result = this.#negotiate(key, spec, value);
      this.#settled.set(key, result === 'Reject' ? undefined : result);
      return result;
    }
    return this.#declaration(key, value);
  }

  #negotiate(key: string, spec: NegotiatedKey, value: string): string {
    switch (spec.kind) {
      case 'number': {
        const offer = parseNumber(value, spec.min, spec.max);
        if (offer === undefined) return 'Reject';
        let ours = spec.ours(this.#limits);
        if (key === 'FirstBurstLength') {
          const maxBurst = this.#settled.get('MaxBurstLength');
          if (maxBurst !== undefined) ours = Math.min(ours, Number(maxBurst));
        }
        return String(spec.fn === 'min' ? Math.min(offer, ours) : Math.max(offer, ours));
      }
      case 'boolean': {
        const offer = parseBoolean(value);
        if (offer === undefined) return 'Reject';
        const ours = spec.ours(this.#limits);
        return formatBoolean(spec.fn === 'or' ? offer || ours : offer && ours);
      }
      case 'digest': {
        const offer = parseList(value);
        if (offer === undefined) return 'Reject';
        const acceptable = this.#acceptableDigests(spec);
        return offer.find((d) => acceptable.includes(d)) ?? 'Reject';
      }
    }
  }

  #acceptableDigests(spec: DigestKey): readonly string[] {
    // Never CRC32C on a discovery session: several initiators cannot do digests there.
    return this.sessionType === 'Discovery' ? ['None'] : spec.ours(this.#limits);
  }

  #declaration(key: string, value: string): string | undefined {
    switch (key) {
      case 'InitiatorName':
      case 'TargetName':
        if (value.length === 0 || Buffer.byteLength(value) > NAME_MAX_BYTES) throw initiatorError(`invalid ${key}`);
        if (key === 'InitiatorName') this.#initiatorName = value;
        else this.#targetName = value;
        break;
      case 'InitiatorAlias':
        this.#initiatorAlias = value;
        break;
      case 'SessionType':
        if (!this.#leading) throw initiatorError('leading-only key SessionType on a non-leading connection');
        if (value !== this.sessionType) throw initiatorError(`SessionType ${value} after the session type was set`);
        break;
      case 'MaxRecvDataSegmentLength': {
        // Not answered with Reject: our own declaration of the same key goes in the same response.
        const declared = parseNumber(value, SEGMENT_MIN, SEGMENT_MAX);
        if (declared === undefined) throw initiatorError(`MaxRecvDataSegmentLength=${value} out of range`);
        this.#initiatorMaxRecv = declared;
        break;
      }
      case 'SendTargets':
        this.#settled.set(key, undefined);
        return 'Irrelevant';
      default:
        if (TARGET_DECLARED.has(key)) throw initiatorError(`${key} is declared by targets only`);
        this.#settled.set(key, undefined);
        return OBSOLETE_ANSWERS[key] ?? 'NotUnderstood';
    }
    this.#settled.set(key, value);
    return undefined;
  }

  /** The initiator's answer to one of our offers: it must respect the key's result function. */
  #acceptAnswer(key: string, offered: string, value: string): void {
    if (value === 'Irrelevant' || value === 'NotUnderstood' || value === 'Reject') {
      this.#settled.set(key, undefined);
      return;
    }
    const spec = NEGOTIATED[key]!;
    let valid: boolean;
    switch (spec.kind) {
      case 'number': {
        const answer = parseNumber(value, spec.min, spec.max);
        const ours = Number(offered);
        valid = answer !== undefined && (spec.fn === 'min' ? answer <= ours : answer >= ours);
        break;
      }
      case 'boolean': {
        const answer = parseBoolean(value);
        const ours = offered === 'Yes';
        valid = answer !== undefined && (spec.fn === 'or' ? answer || !ours : !answer || ours);
        break;
      }
      case 'digest':
        valid = offered.split(',').includes(value);
        break;
    }
    if (!valid) throw initiatorError(`invalid answer ${key}=${value} to our offer ${offered}`);
    this.#settled.set(key, value);
  }

  /**
   * Keys whose RFC default would break our limits if the initiator never mentions them, e.g. a
   * MaxBurstLength below 262144 or ImmediateData=No: the target must offer these itself.
   */
  #requiredOffers(pairs: readonly KeyValue[]): KeyValue[] {
    if (!this.#leading) return [];
    const offers: KeyValue[] = [];
    for (const [key, spec] of Object.entries(NEGOTIATED)) {
      if (this.#settled.has(key) || this.#offered.has(key) || pairs.some((p) => p.key === key)) continue;
      if (spec.irrelevantInDiscovery && this.sessionType === 'Discovery') continue;
      const value = requiredOffer(spec, this.#limits, this.sessionType);
      if (value !== undefined) offers.push({ key, value });
    }
    return offers;
  }
}

function requiredOffer(spec: NegotiatedKey, limits: TargetSessionLimits, sessionType: SessionType): string | undefined {
  switch (spec.kind) {
    case 'number': {
      const ours = spec.ours(limits);
      const result = spec.fn === 'min' ? Math.min(spec.def, ours) : Math.max(spec.def, ours);
      return result === spec.def ? undefined : String(ours);
    }
    case 'boolean': {
      const ours = spec.ours(limits);
      const result = spec.fn === 'or' ? spec.def || ours : spec.def && ours;
      return result === spec.def ? undefined : formatBoolean(ours);
    }
    case 'digest': {
      const ours = spec.ours(limits);
      return sessionType === 'Discovery' || ours.includes('None') ? undefined : ours.join(',');
    }
  }
}

function rank(key: string): number {
  return key === 'MaxBurstLength' ? 0 : 1;
}
