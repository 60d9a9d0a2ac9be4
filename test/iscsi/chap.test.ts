import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ChapAuthenticator, type SecurityStep, chapResponse } from '../../src/iscsi/chap.ts';
import type { TargetAuth } from '../../src/iscsi/target-definition.ts';
import type { KeyValue } from '../../src/iscsi/text.ts';

const kv = (entries: Record<string, string>): KeyValue[] => Object.entries(entries).map(([key, value]) => ({ key, value }));
const asObject = (pairs: readonly KeyValue[]): Record<string, string> => Object.fromEntries(pairs.map((p) => [p.key, p.value]));

const ONE_WAY: TargetAuth = { chap: { user: 'iqn.1993-08.org.debian:01:c0ffee', secret: 'secretsecret' } };
const MUTUAL: TargetAuth = { ...ONE_WAY, mutualChap: { user: 'iqn.2026-11.io.tapegateway:gw1', secret: 'targetsecret99' } };

const HASHES: Record<string, string> = { '5': 'md5', '6': 'sha1', '7': 'sha256', '8': 'sha3-256' };

/** What an initiator computes: H(id || secret || challenge), independently of chap.ts. */
function initiatorResponse(algorithm: string, id: number, secret: string, challenge: Buffer): Buffer {
  return createHash(HASHES[algorithm]!)
    .update(Buffer.concat([Buffer.from([id]), Buffer.from(secret), challenge]))
    .digest();
}

function answers(step: SecurityStep): Record<string, string> {
  assert.notEqual(step.outcome, 'failed', step.outcome === 'failed' ? step.reason : '');
  return step.outcome === 'failed' ? {} : asObject(step.answers);
}

function assertFailed(step: SecurityStep, pattern: RegExp): void {
  assert.equal(step.outcome, 'failed');
  if (step.outcome !== 'failed') return;
  assert.deepEqual(step.status, { statusClass: 2, statusDetail: 1 });
  assert.match(step.reason, pattern);
}

/** Runs AuthMethod and CHAP_A; returns the target's CHAP_A, id and challenge. */
function challenge(chap: ChapAuthenticator, algorithms = '5'): { algorithm: string; id: number; challenge: Buffer } {
  assert.deepEqual(answers(chap.respond(kv({ AuthMethod: 'CHAP,None' }))), { AuthMethod: 'CHAP' });
  const step = chap.respond(kv({ CHAP_A: algorithms }));
  assert.equal(step.outcome, 'continue');
  const a = answers(step);
  assert.match(a.CHAP_C!, /^0x[0-9a-f]+$/);
  return { algorithm: a.CHAP_A!, id: Number(a.CHAP_I), challenge: Buffer.from(a.CHAP_C!.slice(2), 'hex') };
}

describe('iSCSI CHAP (target side)', () => {
  it('computes the RFC 1994 response H(id || secret || challenge)', () => {
    const c = Buffer.from([...Array(16).keys()]);
    assert.equal(chapResponse(5, 1, 'secretsecret', c).toString('hex'), '226dc576c33f04ff9c3a200ffe35f442');
    assert.equal(
      chapResponse(7, 0xfe, 'WindowsSecret1', c).toString('hex'),
      'b7b4a09e84a22b2f650d60c1cce47560ad312499e6b6c8dd35aacaa3fe7c7446',
    );
  });

  it('chooses AuthMethod None when the target requires no authentication', () => {
    for (const auth of [undefined, {}]) {
      const chap = new ChapAuthenticator(auth);
      assert.equal(chap.required, false);
      const step = chap.respond(kv({ AuthMethod: 'CHAP,None' }));
      assert.deepEqual(step, { outcome: 'authenticated', answers: kv({ AuthMethod: 'None' }) });
      assert.equal(chap.authenticated, true);
    }
    assert.equal(new ChapAuthenticator().respond([]).outcome, 'authenticated');
    assertFailed(new ChapAuthenticator().respond(kv({ AuthMethod: 'CHAP' })), /no acceptable AuthMethod/);
  });

  it('fails with 02/01 when CHAP is required and the initiator does not offer it', () => {
    const chap = new ChapAuthenticator(ONE_WAY);
    assert.equal(chap.required, true);
    assertFailed(chap.respond(kv({ AuthMethod: 'None' })), /no acceptable AuthMethod/);
    assertFailed(chap.respond(kv({ AuthMethod: 'CHAP' })), /already failed/);
    assertFailed(new ChapAuthenticator(ONE_WAY).respond([]), /no acceptable AuthMethod/);
  });

  for (const [offer, expected] of [
    ['5', '5'],
    ['8,7,6,5', '8'],
    ['7,5', '7'],
    ['99,6,5', '6'],
  ] as const) {
    it(`authenticates one-way with CHAP_A=${offer} (picks ${expected})`, () => {
      const chap = new ChapAuthenticator(ONE_WAY);
      const t = challenge(chap, offer);
      assert.equal(t.algorithm, expected);
      assert.ok(t.challenge.length >= 16);
      const response = initiatorResponse(t.algorithm, t.id, ONE_WAY.chap!.secret, t.challenge);
      const step = chap.respond(kv({ CHAP_N: ONE_WAY.chap!.user, CHAP_R: `0x${response.toString('hex')}` }));
      assert.deepEqual(step, { outcome: 'authenticated', answers: [] });
      assert.equal(chap.authenticated, true);
      assert.equal(chap.user, ONE_WAY.chap!.user);
    });
  }

  it('accepts AuthMethod and CHAP_A in one request, and a base64 CHAP_R', () => {
    const chap = new ChapAuthenticator(ONE_WAY);
    const a = answers(chap.respond(kv({ AuthMethod: 'CHAP', CHAP_A: '5' })));
    assert.equal(a.AuthMethod, 'CHAP');
    assert.equal(a.CHAP_A, '5');
    const response = initiatorResponse('5', Number(a.CHAP_I), ONE_WAY.chap!.secret, Buffer.from(a.CHAP_C!.slice(2), 'hex'));
    assert.equal(chap.respond(kv({ CHAP_N: ONE_WAY.chap!.user, CHAP_R: `0b${response.toString('base64')}` })).outcome, 'authenticated');
  });

  it('works with 12-byte (Windows minimum), 16-byte and long secrets', () => {
    for (const secret of ['twelve-bytes', 'sixteen-bytes-16', 'a much longer secret of forty-one bytes!!']) {
      const auth = { chap: { user: 'win', secret } };
      const chap = new ChapAuthenticator(auth);
      const t = challenge(chap, '5');
      const response = initiatorResponse(t.algorithm, t.id, secret, t.challenge);
      assert.equal(chap.respond(kv({ CHAP_N: 'win', CHAP_R: `0x${response.toString('hex')}` })).outcome, 'authenticated');
    }
  });

  it('fails a wrong secret, a wrong user or a malformed response with 02/01', () => {
    const cases: Array<[string, (t: ReturnType<typeof challenge>) => Record<string, string>]> = [
      [
        'wrong secret',
        (t) => ({ CHAP_N: ONE_WAY.chap!.user, CHAP_R: `0x${initiatorResponse('5', t.id, 'wrongsecret!', t.challenge).toString('hex')}` }),
      ],
      [
        'wrong user',
        (t) => ({ CHAP_N: 'someone', CHAP_R: `0x${initiatorResponse('5', t.id, ONE_WAY.chap!.secret, t.challenge).toString('hex')}` }),
      ],
      [
        'wrong id',
        (t) => ({
          CHAP_N: ONE_WAY.chap!.user,
          CHAP_R: `0x${initiatorResponse('5', (t.id + 1) % 256, ONE_WAY.chap!.secret, t.challenge).toString('hex')}`,
        }),
      ],
      ['short response', () => ({ CHAP_N: ONE_WAY.chap!.user, CHAP_R: '0x00' })],
      ['not binary', () => ({ CHAP_N: ONE_WAY.chap!.user, CHAP_R: 'hello' })],
      ['missing CHAP_R', () => ({ CHAP_N: ONE_WAY.chap!.user })],
    ];
    for (const [name, build] of cases) {
      const chap = new ChapAuthenticator(ONE_WAY);
      const step = chap.respond(kv(build(challenge(chap))));
      assertFailed(step, /failed|expected/);
      assert.equal(chap.authenticated, false, name);
    }
  });

  it('fails unsupported CHAP_A lists and out-of-order keys', () => {
    const chap = new ChapAuthenticator(ONE_WAY);
    chap.respond(kv({ AuthMethod: 'CHAP' }));
    assertFailed(chap.respond(kv({ CHAP_A: '3,9,abc' })), /no supported CHAP_A/);
    const early = new ChapAuthenticator(ONE_WAY);
    early.respond(kv({ AuthMethod: 'CHAP' }));
    assertFailed(early.respond(kv({ CHAP_N: 'x', CHAP_R: '0x00' })), /CHAP_A expected/);
    const twice = new ChapAuthenticator(ONE_WAY);
    twice.respond(kv({ AuthMethod: 'CHAP' }));
    assertFailed(twice.respond(kv({ AuthMethod: 'CHAP' })), /twice/);
  });

  it('answers unknown security keys NotUnderstood', () => {
    const step = new ChapAuthenticator(ONE_WAY).respond(kv({ AuthMethod: 'SRP,CHAP', SRP_U: 'me' }));
    assert.deepEqual(answers(step), { SRP_U: 'NotUnderstood', AuthMethod: 'CHAP' });
  });

  it('answers the initiator challenge in mutual CHAP', () => {
    const chap = new ChapAuthenticator(MUTUAL);
    const t = challenge(chap, '7,5');
    const ours = randomBytes(16);
    const step = chap.respond(
      kv({
        CHAP_N: ONE_WAY.chap!.user,
        CHAP_R: `0x${initiatorResponse(t.algorithm, t.id, ONE_WAY.chap!.secret, t.challenge).toString('hex')}`,
        CHAP_I: '77',
        CHAP_C: `0x${ours.toString('hex')}`,
      }),
    );
    assert.equal(step.outcome, 'authenticated');
    assert.deepEqual(answers(step), {
      CHAP_N: MUTUAL.mutualChap!.user,
      CHAP_R: `0x${initiatorResponse('7', 77, MUTUAL.mutualChap!.secret, ours).toString('hex')}`,
    });
  });

  it('refuses a reflected, short or malformed initiator challenge, and mutual CHAP without mutual credentials', () => {
    const attempt = (auth: TargetAuth, mutual: (t: ReturnType<typeof challenge>) => Record<string, string>): SecurityStep => {
      const chap = new ChapAuthenticator(auth);
      const t = challenge(chap);
      return chap.respond(
        kv({
          CHAP_N: ONE_WAY.chap!.user,
          CHAP_R: `0x${initiatorResponse('5', t.id, ONE_WAY.chap!.secret, t.challenge).toString('hex')}`,
          ...mutual(t),
        }),
      );
    };
    assertFailed(
      attempt(MUTUAL, (t) => ({ CHAP_I: '1', CHAP_C: `0x${t.challenge.toString('hex')}` })),
      /reflected/,
    );
    assertFailed(
      attempt(MUTUAL, () => ({ CHAP_I: '1', CHAP_C: '0x0102030405060708' })),
      /8 bytes refused/,
    );
    assertFailed(
      attempt(MUTUAL, () => ({ CHAP_I: '256', CHAP_C: `0x${'ab'.repeat(16)}` })),
      /malformed/,
    );
    assertFailed(
      attempt(MUTUAL, () => ({ CHAP_C: `0x${'ab'.repeat(16)}` })),
      /malformed/,
    );
    assertFailed(
      attempt(ONE_WAY, () => ({ CHAP_I: '1', CHAP_C: `0x${'ab'.repeat(16)}` })),
      /no mutual credentials/,
    );
  });

  it('never throws and never authenticates random garbage when CHAP is required', () => {
    const keys = fc.constantFrom('AuthMethod', 'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R', 'SRP_U', 'X');
    const value = fc.oneof(
      fc.constantFrom('CHAP', 'None', 'CHAP,None', '5', '7,5', '0x00', '0b', ONE_WAY.chap!.user),
      fc.string({ maxLength: 40 }),
    );
    const request = fc.uniqueArray(fc.record({ key: keys, value }), { selector: (p) => p.key, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(request, { maxLength: 5 }),
        fc.constantFrom<TargetAuth | undefined>(ONE_WAY, MUTUAL, undefined),
        (requests, auth) => {
          const chap = new ChapAuthenticator(auth);
          for (const req of requests) chap.respond(req);
          if (auth?.chap) assert.equal(chap.authenticated, false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
