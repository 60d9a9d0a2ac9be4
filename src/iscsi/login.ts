// The login phase of one connection (RFC 7143 sections 6 and 11.12-11.13):
// stages, transit, continuation of key data across PDUs, the choice of target,
// authorization, security (chap.ts) and operational (negotiation.ts) keys.
import { ChapAuthenticator } from './chap.ts';
import { isSecurityKey, Negotiator, type OperationalParameters, type SessionType } from './negotiation.ts';
import { LoginStage, type LoginRequestPdu } from './pdu.ts';
import type { IscsiTargetDefinition, TargetAuth, TargetSessionLimits } from './target-definition.ts';
import { decodeTextData, encodeTextData, LoginNegotiationError, LoginStatuses, type KeyValue, type LoginStatus } from './text.ts';

export const LoginFailures = {
  ...LoginStatuses,
  targetNotFound: { statusClass: 0x02, statusDetail: 0x03 },
  unsupportedVersion: { statusClass: 0x02, statusDetail: 0x05 },
  tooManyConnections: { statusClass: 0x02, statusDetail: 0x06 },
  sessionDoesNotExist: { statusClass: 0x02, statusDetail: 0x0a },
  invalidDuringLogin: { statusClass: 0x02, statusDetail: 0x0b },
  targetError: { statusClass: 0x03, statusDetail: 0x00 },
} as const satisfies Record<string, LoginStatus>;

/** What the login phase needs to know about the server it runs in. */
export interface LoginContext {
  readonly limits: TargetSessionLimits;
  findTarget(name: string): IscsiTargetDefinition | undefined;
  readonly discoveryAuth?: TargetAuth;
  /** Whether a session with this TSIH exists (a login adding a connection to it). */
  sessionExists(tsih: number): boolean;
}

export interface LoginAgreement {
  readonly sessionType: SessionType;
  readonly initiatorName: string;
  readonly initiatorAlias?: string;
  readonly target?: IscsiTargetDefinition;
  readonly isid: Buffer;
  readonly tsih: number;
  readonly cid: number;
  /** CmdSN of the leading login: the session's first ExpCmdSN. */
  readonly cmdSN: number;
  readonly params: OperationalParameters;
}

/** One Login Response to send. */
export interface LoginReply {
  readonly transit: boolean;
  readonly continue: boolean;
  readonly currentStage: number;
  readonly nextStage: number;
  readonly status: LoginStatus;
  readonly data: Buffer;
  /** Set on the final response (T=1, NSG=FullFeature): the login succeeded. */
  readonly agreement?: LoginAgreement;
  /** Why the login was refused, for the log. */
  readonly reason?: string;
  /** Who is logging in, once the first request has said (for the log). */
  readonly initiator?: { readonly name: string; readonly target?: string };
  /** Set on the answer to a CHAP response: whether it proved the secret, and the CHAP_N it gave. */
  readonly verdict?: { readonly verified: boolean; readonly user?: string };
}

const success: LoginStatus = { statusClass: 0, statusDetail: 0 };

export class LoginPhase {
  private stage: number | undefined;
  private negotiator: Negotiator | undefined;
  private chap: ChapAuthenticator | undefined;
  private target: IscsiTargetDefinition | undefined;
  private first: LoginRequestPdu | undefined;
  private initiator: LoginReply['initiator'];
  /** Key data of a request split across PDUs with the C bit. */
  private pending: Buffer[] = [];

  constructor(private readonly context: LoginContext) {}

  /** Answers one Login Request; a reply whose status class is non-zero ends the connection. */
  handle(request: LoginRequestPdu): LoginReply {
    try {
      return this.step(request);
    } catch (error) {
      if (error instanceof LoginNegotiationError) return this.failure(request, error.status, error.message);
      throw error;
    }
  }

  private step(request: LoginRequestPdu): LoginReply {
    if (!this.first) {
      if (request.versionMin > 0 || request.versionMax < request.versionMin) return this.failure(request, LoginFailures.unsupportedVersion);
      this.first = request;
      this.stage = request.currentStage;
    }
    if (!this.sameLogin(request) || request.currentStage !== this.stage || request.currentStage === 2) {
      return this.failure(request, LoginFailures.initiatorError);
    }
    if (request.transit && (request.nextStage === 2 || request.nextStage <= request.currentStage)) {
      return this.failure(request, LoginFailures.initiatorError);
    }
    this.pending.push(request.data);
    if (request.continue) {
      if (request.transit) return this.failure(request, LoginFailures.initiatorError);
      return this.reply(request, false, request.currentStage, success, []);
    }
    const pairs = decodeTextData(Buffer.concat(this.pending));
    this.pending = [];

    if (!this.negotiator) {
      const failure = this.begin(request, pairs);
      if (failure) return this.failure(request, failure);
    }
    const negotiator = this.negotiator!;
    const chap = this.chap!;
    const answers: KeyValue[] = [];

    if (request.currentStage === LoginStage.Security) {
      answers.push(
        ...negotiator.respond(
          pairs.filter((p) => !isSecurityKey(p.key)),
          'security',
        ),
      );
      const security = pairs.filter((p) => isSecurityKey(p.key));
      const verdict = chap.awaitingResponse ? { user: security.find((p) => p.key === 'CHAP_N')?.value } : undefined;
      const step = chap.respond(security);
      const judged = (reply: LoginReply): LoginReply =>
        verdict ? { ...reply, verdict: { ...verdict, verified: step.outcome !== 'failed' } } : reply;
      if (step.outcome === 'failed') return judged(this.failure(request, step.status, step.reason));
      answers.push(...step.answers);
      if (!request.transit || step.outcome !== 'authenticated')
        return judged(this.reply(request, false, request.currentStage, success, answers));
      const next =
        request.nextStage === LoginStage.FullFeature && negotiator.operationalStageRequired ? LoginStage.Operational : request.nextStage;
      if (next === LoginStage.FullFeature) return judged(this.complete(request, answers));
      this.stage = next;
      return judged(this.reply(request, true, next, success, answers));
    }

    if (chap.required && !chap.authenticated) return this.failure(request, LoginFailures.authenticationFailure);
    if (pairs.some((p) => isSecurityKey(p.key))) return this.failure(request, LoginFailures.initiatorError);
    answers.push(...negotiator.respond(pairs, 'operational'));
    if (request.transit && negotiator.awaitingAnswers.length === 0) return this.complete(request, answers);
    return this.reply(request, false, request.currentStage, success, answers);
  }

  /** The first request's declarations pick the target, its authorization and its authentication. */
  private begin(request: LoginRequestPdu, pairs: readonly KeyValue[]): LoginStatus | undefined {
    const get = (key: string): string | undefined => pairs.find((p) => p.key === key)?.value;
    const sessionType = get('SessionType') ?? 'Normal';
    const initiatorName = get('InitiatorName');
    if (initiatorName === undefined) return LoginFailures.missingParameter;
    this.initiator = {
      name: initiatorName,
      ...(sessionType === 'Normal' && get('TargetName') !== undefined ? { target: get('TargetName') } : {}),
    };
    if (request.tsih !== 0)
      return this.context.sessionExists(request.tsih) ? LoginFailures.tooManyConnections : LoginFailures.sessionDoesNotExist;
    let auth = this.context.discoveryAuth;
    if (sessionType === 'Normal') {
      const targetName = get('TargetName');
      if (targetName === undefined) return LoginFailures.missingParameter;
      this.target = this.context.findTarget(targetName);
      if (!this.target) return LoginFailures.targetNotFound;
      const allowed = this.target.allowedInitiators;
      if (allowed && !allowed.includes(initiatorName)) return LoginFailures.authorizationFailure;
      auth = this.target.auth;
    }
    this.negotiator = new Negotiator(this.context.limits, {
      targetAlias: this.target?.alias,
      portalGroupTag: this.target?.portalGroupTag ?? 1,
    });
    this.chap = new ChapAuthenticator(auth);
    return undefined;
  }

  private complete(request: LoginRequestPdu, answers: KeyValue[]): LoginReply {
    const negotiator = this.negotiator!;
    const declarations = negotiator.declarations;
    const first = this.first!;
    const agreement: LoginAgreement = {
      sessionType: declarations.sessionType,
      initiatorName: declarations.initiatorName!,
      initiatorAlias: declarations.initiatorAlias,
      target: this.target,
      isid: Buffer.from(first.isid),
      tsih: first.tsih,
      cid: first.cid,
      cmdSN: first.cmdSN,
      params: negotiator.result(),
    };
    return { ...this.reply(request, true, LoginStage.FullFeature, success, answers), agreement };
  }

  private sameLogin(request: LoginRequestPdu): boolean {
    const first = this.first!;
    return request.isid.equals(first.isid) && request.tsih === first.tsih && request.cid === first.cid;
  }

  private reply(
    request: LoginRequestPdu,
    transit: boolean,
    nextStage: number,
    status: LoginStatus,
    answers: readonly KeyValue[],
  ): LoginReply {
    return {
      transit,
      continue: false,
      currentStage: request.currentStage,
      nextStage,
      status,
      data: encodeTextData(answers),
      ...(this.initiator ? { initiator: this.initiator } : {}),
    };
  }

  private failure(request: LoginRequestPdu, status: LoginStatus, reason?: string): LoginReply {
    return { ...this.reply(request, false, 0, status, []), reason };
  }
}
