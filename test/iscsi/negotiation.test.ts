import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Negotiator, isSecurityKey } from '../../src/iscsi/negotiation.ts';
import { type TargetSessionLimits, defaultSessionLimits } from '../../src/iscsi/target-definition.ts';
import { type KeyValue, LoginNegotiationError } from '../../src/iscsi/text.ts';

const kv = (text: string): KeyValue[] =>
  text
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
const asObject = (pairs: readonly KeyValue[]): Record<string, string> => Object.fromEntries(pairs.map((p) => [p.key, p.value]));

const LEADING_NORMAL = kv(
  'InitiatorName=iqn.1993-08.org.debian:01:c0ffee SessionType=Normal TargetName=iqn.2026-11.io.tapegateway:gw1-changer',
);

// open-iscsi with iscsid.conf defaults (older releases also send the marker keys).
const OPEN_ISCSI_OPERATIONAL = kv(`HeaderDigest=None DataDigest=None DefaultTime2Wait=2 DefaultTime2Retain=0
  IFMarker=No OFMarker=No ErrorRecoveryLevel=0 InitialR2T=No ImmediateData=Yes MaxBurstLength=16776192
  FirstBurstLength=262144 MaxOutstandingR2T=1 MaxConnections=1 DataPDUInOrder=Yes DataSequenceInOrder=Yes
  MaxRecvDataSegmentLength=262144`);

// libiscsi sends everything in one operational-stage request when no CHAP is configured.
const LIBISCSI_LOGIN = kv(`InitiatorName=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test
  TargetName=iqn.2026-11.io.tapegateway:gw1-tapedrive-01 SessionType=Normal HeaderDigest=None,CRC32C
  DataDigest=None InitialR2T=No ImmediateData=Yes MaxBurstLength=262144 FirstBurstLength=262144
  MaxRecvDataSegmentLength=262144 DataPDUInOrder=Yes DataSequenceInOrder=Yes MaxConnections=1
  ErrorRecoveryLevel=0 DefaultTime2Wait=2 DefaultTime2Retain=0 MaxOutstandingR2T=1`);

function limits(overrides: Partial<TargetSessionLimits>): TargetSessionLimits {
  return { ...defaultSessionLimits, ...overrides };
}

function assertStatus(fn: () => unknown, statusClass: number, statusDetail: number, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LoginNegotiationError, String(err));
    assert.deepEqual(err.status, { statusClass, statusDetail });
    assert.match(err.message, pattern);
    return true;
  });
}

describe('iSCSI login negotiation', () => {
  it('answers an open-iscsi login (security stage, then operational)', () => {
    const n = new Negotiator(defaultSessionLimits, { portalGroupTag: 1, targetAlias: 'changer' });
    assert.deepEqual(n.respond(LEADING_NORMAL, 'security'), kv('TargetPortalGroupTag=1 TargetAlias=changer'));
    assert.deepEqual(
      n.respond(OPEN_ISCSI_OPERATIONAL, 'operational'),
      kv(`HeaderDigest=None DataDigest=None DefaultTime2Wait=2 DefaultTime2Retain=0 IFMarker=No OFMarker=No
        ErrorRecoveryLevel=0 InitialR2T=No ImmediateData=Yes MaxBurstLength=16776192 FirstBurstLength=262144
        MaxOutstandingR2T=1 MaxConnections=1 DataPDUInOrder=Yes DataSequenceInOrder=Yes
        MaxRecvDataSegmentLength=262144`),
    );
    assert.deepEqual(n.awaitingAnswers, []);
    assert.deepEqual(n.declarations, {
      sessionType: 'Normal',
      initiatorName: 'iqn.1993-08.org.debian:01:c0ffee',
      targetName: 'iqn.2026-11.io.tapegateway:gw1-changer',
    });
    assert.deepEqual(n.result(), {
      headerDigest: false,
      dataDigest: false,
      maxRecvDataSegmentLength: 262144,
      targetMaxRecvDataSegmentLength: 262144,
      maxBurstLength: 16776192,
      firstBurstLength: 262144,
      initialR2T: false,
      immediateData: true,
      maxOutstandingR2T: 1,
      dataPDUInOrder: true,
      dataSequenceInOrder: true,
      errorRecoveryLevel: 0,
      maxConnections: 1,
      defaultTime2Wait: 2,
      defaultTime2Retain: 0,
    });
  });

  it('answers a libiscsi login against tgt-like limits', () => {
    const tgtLike = limits({ maxRecvDataSegmentLength: 8192, maxBurstLength: 262144, firstBurstLength: 65536, initialR2T: true });
    const n = new Negotiator(tgtLike);
    const answers = asObject(n.respond(LIBISCSI_LOGIN, 'operational'));
    assert.deepEqual(answers, {
      HeaderDigest: 'None',
      DataDigest: 'None',
      InitialR2T: 'Yes',
      ImmediateData: 'Yes',
      MaxBurstLength: '262144',
      FirstBurstLength: '65536',
      DataPDUInOrder: 'Yes',
      DataSequenceInOrder: 'Yes',
      MaxConnections: '1',
      ErrorRecoveryLevel: '0',
      DefaultTime2Wait: '2',
      DefaultTime2Retain: '0',
      MaxOutstandingR2T: '1',
      MaxRecvDataSegmentLength: '8192',
    });
    const r = n.result();
    assert.equal(r.maxRecvDataSegmentLength, 262144);
    assert.equal(r.targetMaxRecvDataSegmentLength, 8192);
    assert.equal(r.firstBurstLength, 65536);
    assert.equal(r.initialR2T, true);
  });

  it('takes the first digest of the initiator list that the target accepts', () => {
    const n = new Negotiator(defaultSessionLimits);
    const answers = n.respond([...LEADING_NORMAL, ...kv('HeaderDigest=CRC32C,None DataDigest=CRC32C')], 'operational');
    assert.equal(asObject(answers).HeaderDigest, 'CRC32C');
    assert.equal(asObject(answers).DataDigest, 'CRC32C');
    assert.equal(n.result().headerDigest, true);

    const noDigests = new Negotiator(limits({ headerDigest: ['None'], dataDigest: ['None'] }));
    const refused = asObject(noDigests.respond([...LEADING_NORMAL, ...kv('HeaderDigest=CRC32C DataDigest=CRC32C,None')], 'operational'));
    assert.equal(refused.HeaderDigest, 'Reject');
    assert.equal(refused.DataDigest, 'None');
    assert.equal(noDigests.result().headerDigest, false);
  });

  it('offers CRC32C itself when the target requires digests and the initiator is silent', () => {
    const n = new Negotiator(limits({ headerDigest: ['CRC32C'], dataDigest: ['CRC32C'] }));
    const answers = n.respond(kv('InitiatorName=iqn.x TargetName=iqn.t'), 'operational');
    assert.equal(asObject(answers).HeaderDigest, 'CRC32C');
    assert.deepEqual(n.awaitingAnswers, ['HeaderDigest', 'DataDigest']);
    n.respond(kv('HeaderDigest=CRC32C DataDigest=CRC32C'), 'operational');
    assert.deepEqual(n.awaitingAnswers, []);
    assert.equal(n.result().headerDigest, true);
    assert.equal(n.result().dataDigest, true);
  });

  it('never picks CRC32C on a discovery session and answers session keys Irrelevant there', () => {
    const n = new Negotiator(limits({ headerDigest: ['CRC32C', 'None'] }));
    const answers = n.respond(
      kv(`InitiatorName=iqn.x SessionType=Discovery HeaderDigest=CRC32C,None DataDigest=CRC32C
        MaxBurstLength=262144 InitialR2T=No ImmediateData=Yes MaxConnections=1 MaxRecvDataSegmentLength=32768
        ErrorRecoveryLevel=0 DefaultTime2Wait=2`),
      'operational',
    );
    assert.deepEqual(
      answers,
      kv(`HeaderDigest=None DataDigest=Reject MaxBurstLength=Irrelevant InitialR2T=Irrelevant
        ImmediateData=Irrelevant MaxConnections=Irrelevant ErrorRecoveryLevel=0 DefaultTime2Wait=2
        MaxRecvDataSegmentLength=262144`),
    );
    assert.equal(n.sessionType, 'Discovery');
    const r = n.result();
    assert.equal(r.headerDigest, false);
    assert.equal(r.maxBurstLength, 262144);
    assert.equal(r.initialR2T, true);
    assert.equal(r.maxRecvDataSegmentLength, 32768);
  });

  it('fails a login missing InitiatorName, or TargetName on a Normal session, with 02/07', () => {
    assertStatus(() => new Negotiator(defaultSessionLimits).respond(kv('TargetName=iqn.t'), 'security'), 2, 7, /InitiatorName/);
    assertStatus(() => new Negotiator(defaultSessionLimits).respond(kv('InitiatorName=iqn.i'), 'security'), 2, 7, /TargetName/);
    assert.deepEqual(new Negotiator(defaultSessionLimits).respond(kv('InitiatorName=iqn.i SessionType=Discovery'), 'security'), []);
  });

  it('fails an unknown SessionType with 02/09', () => {
    assertStatus(
      () => new Negotiator(defaultSessionLimits).respond(kv('InitiatorName=iqn.i SessionType=Fancy'), 'security'),
      2,
      9,
      /SessionType/,
    );
  });

  it('rejects out-of-range values and keeps the defaults', () => {
    const n = new Negotiator(defaultSessionLimits);
    const answers = asObject(
      n.respond(
        [...LEADING_NORMAL, ...kv('MaxBurstLength=100 FirstBurstLength=0x1000000 InitialR2T=maybe ErrorRecoveryLevel=3')],
        'operational',
      ),
    );
    assert.equal(answers.MaxBurstLength, 'Reject');
    assert.equal(answers.FirstBurstLength, 'Reject');
    assert.equal(answers.InitialR2T, 'Reject');
    assert.equal(answers.ErrorRecoveryLevel, 'Reject');
    assert.equal(answers.MaxRecvDataSegmentLength, '262144');
    const r = n.result();
    assert.equal(r.maxBurstLength, 262144);
    assert.equal(r.firstBurstLength, 65536);
    assert.equal(r.maxRecvDataSegmentLength, 8192);
  });

  it('fails an out-of-range MaxRecvDataSegmentLength declaration with 02/00', () => {
    for (const bad of ['511', '16777216', 'lots']) {
      const n = new Negotiator(defaultSessionLimits);
      assertStatus(
        () => n.respond([...LEADING_NORMAL, { key: 'MaxRecvDataSegmentLength', value: bad }], 'operational'),
        2,
        0,
        /MaxRecvDataSegmentLength/,
      );
    }
  });

  it('accepts hex numbers and negotiates ErrorRecoveryLevel down to 0', () => {
    const n = new Negotiator(defaultSessionLimits);
    const answers = asObject(
      n.respond([...LEADING_NORMAL, ...kv('MaxBurstLength=0x40000 ErrorRecoveryLevel=2 DefaultTime2Wait=0')], 'operational'),
    );
    assert.equal(answers.MaxBurstLength, '262144');
    assert.equal(answers.ErrorRecoveryLevel, '0');
    assert.equal(answers.DefaultTime2Wait, '2');
  });

  it('answers private, unknown and obsolete keys', () => {
    const n = new Negotiator(defaultSessionLimits);
    const answers = n.respond(
      [...LEADING_NORMAL, ...kv('X-com.example.Thing=1 X#Other=2 FancyKey=3 OFMarker=Yes IFMarkInt=2048~8192 SendTargets=All')],
      'security',
    );
    assert.deepEqual(
      answers,
      kv(
        'X-com.example.Thing=NotUnderstood X#Other=NotUnderstood FancyKey=NotUnderstood OFMarker=No IFMarkInt=Reject SendTargets=Irrelevant',
      ),
    );
  });

  it('fails target-only keys sent by the initiator with 02/00', () => {
    for (const key of ['TargetAlias', 'TargetPortalGroupTag', 'TargetAddress']) {
      const n = new Negotiator(defaultSessionLimits, { portalGroupTag: 1, targetAlias: 'a' });
      assertStatus(() => n.respond([...LEADING_NORMAL, { key, value: '1' }], 'security'), 2, 0, /targets only/);
    }
  });

  it('fails a key negotiated twice with 02/00', () => {
    const n = new Negotiator(defaultSessionLimits);
    n.respond([...LEADING_NORMAL, ...kv('MaxBurstLength=262144')], 'security');
    assertStatus(() => n.respond(kv('MaxBurstLength=65536'), 'operational'), 2, 0, /twice/);
    const m = new Negotiator(defaultSessionLimits);
    m.respond(LEADING_NORMAL, 'security');
    assertStatus(() => m.respond(kv('InitiatorName=iqn.other'), 'operational'), 2, 0, /twice/);
  });

  it('fails leading-only keys on a non-leading connection but negotiates connection keys', () => {
    const n = new Negotiator(defaultSessionLimits, { leadingConnection: false, sessionType: 'Normal' });
    const answers = n.respond(kv('InitiatorName=iqn.i TargetName=iqn.t HeaderDigest=CRC32C MaxRecvDataSegmentLength=65536'), 'operational');
    assert.deepEqual(answers, kv('HeaderDigest=CRC32C MaxRecvDataSegmentLength=262144'));
    assert.equal(n.result().maxRecvDataSegmentLength, 65536);
    assertStatus(() => n.respond(kv('InitialR2T=No'), 'operational'), 2, 0, /leading-only/);
    const m = new Negotiator(defaultSessionLimits, { leadingConnection: false });
    assertStatus(() => m.respond(kv('InitiatorName=iqn.i TargetName=iqn.t SessionType=Normal'), 'security'), 2, 0, /leading-only/);
  });

  it('fails security keys handed to it', () => {
    assert.ok(isSecurityKey('AuthMethod') && isSecurityKey('CHAP_R') && !isSecurityKey('HeaderDigest'));
    assertStatus(
      () => new Negotiator(defaultSessionLimits).respond([...LEADING_NORMAL, ...kv('CHAP_A=5')], 'operational'),
      2,
      0,
      /security key/,
    );
  });

  it('offers the keys whose RFC defaults would break its limits, and checks the answers', () => {
    const strict = limits({
      maxBurstLength: 65536,
      firstBurstLength: 8192,
      immediateData: false,
      defaultTime2Wait: 5,
      maxRecvDataSegmentLength: 4096,
    });
    const n = new Negotiator(strict);
    n.respond(LEADING_NORMAL, 'security');
    assert.equal(n.operationalStageRequired, true);
    const answers = n.respond(kv('InitialR2T=No MaxRecvDataSegmentLength=262144'), 'operational');
    assert.deepEqual(
      answers,
      kv('InitialR2T=No MaxRecvDataSegmentLength=4096 ImmediateData=No MaxBurstLength=65536 FirstBurstLength=8192 DefaultTime2Wait=5'),
    );
    assert.equal(n.operationalStageRequired, false);
    assert.deepEqual(n.awaitingAnswers, ['ImmediateData', 'MaxBurstLength', 'FirstBurstLength', 'DefaultTime2Wait']);
    assert.deepEqual(
      n.respond(kv('ImmediateData=No MaxBurstLength=65536 FirstBurstLength=4096 DefaultTime2Wait=Reject'), 'operational'),
      [],
    );
    assert.deepEqual(n.awaitingAnswers, []);
    const r = n.result();
    assert.equal(r.immediateData, false);
    assert.equal(r.maxBurstLength, 65536);
    assert.equal(r.firstBurstLength, 4096);
    assert.equal(r.defaultTime2Wait, 2);
    assert.equal(r.targetMaxRecvDataSegmentLength, 4096);

    const bad = new Negotiator(strict);
    bad.respond(LEADING_NORMAL, 'operational');
    assertStatus(() => bad.respond(kv('MaxBurstLength=131072'), 'operational'), 2, 0, /invalid answer/);
    const bad2 = new Negotiator(strict);
    bad2.respond(LEADING_NORMAL, 'operational');
    assertStatus(() => bad2.respond(kv('ImmediateData=Yes'), 'operational'), 2, 0, /invalid answer/);
  });

  it('keeps FirstBurstLength within MaxBurstLength whatever the key order', () => {
    const n = new Negotiator(limits({ maxBurstLength: 131072, firstBurstLength: 262144 }));
    const answers = n.respond([...LEADING_NORMAL, ...kv('FirstBurstLength=262144 MaxBurstLength=16776192')], 'operational');
    assert.deepEqual(answers, kv('FirstBurstLength=131072 MaxBurstLength=131072 MaxRecvDataSegmentLength=262144'));
  });

  it('answers each offered key exactly once and throws only LoginNegotiationError on garbage', () => {
    const known = [
      'HeaderDigest',
      'DataDigest',
      'MaxConnections',
      'InitialR2T',
      'ImmediateData',
      'MaxRecvDataSegmentLength',
      'MaxBurstLength',
      'FirstBurstLength',
      'DefaultTime2Wait',
      'DefaultTime2Retain',
      'MaxOutstandingR2T',
      'DataPDUInOrder',
      'DataSequenceInOrder',
      'ErrorRecoveryLevel',
      'SessionType',
      'TargetName',
      'InitiatorName',
      'InitiatorAlias',
      'TargetAlias',
      'TargetAddress',
      'TargetPortalGroupTag',
      'SendTargets',
      'OFMarker',
      'IFMarkInt',
      'X-foo',
      'AuthMethod',
      'Bogus',
    ];
    const value = fc.oneof(
      fc.constantFrom('Yes', 'No', 'None', 'CRC32C', 'CRC32C,None', 'Normal', 'Discovery', '0', '1', '512', '262144', '0x10', '', 'Reject'),
      fc.string({ maxLength: 20 }),
      fc.nat().map(String),
    );
    const pair = fc.record({ key: fc.oneof(fc.constantFrom(...known), fc.string({ minLength: 1, maxLength: 10 })), value });
    const request = fc.uniqueArray(pair, { selector: (p) => p.key, maxLength: 12 });
    // The first request names initiator and target, so that runs get past the first checks.
    const first = request.map((pairs) => [
      ...LEADING_NORMAL.filter((p) => p.key !== 'SessionType'),
      ...pairs.filter((p) => !['InitiatorName', 'TargetName', 'SessionType'].includes(p.key)),
    ]);
    const targetLimits = fc.constantFrom(
      defaultSessionLimits,
      limits({ maxBurstLength: 65536, firstBurstLength: 8192, immediateData: false, headerDigest: ['CRC32C'], defaultTime2Retain: 0 }),
    );
    fc.assert(
      fc.property(first, fc.array(request, { maxLength: 3 }), fc.boolean(), targetLimits, (head, tail, leading, ours) => {
        const requests = [head, ...tail];
        const n = new Negotiator(ours, { leadingConnection: leading, portalGroupTag: 1, targetAlias: 'a' });
        const answeredTotal = new Map<string, number>();
        try {
          for (const [i, req] of requests.entries()) {
            const answers = n.respond(req, i === 0 ? 'security' : 'operational');
            for (const { key } of answers) answeredTotal.set(key, (answeredTotal.get(key) ?? 0) + 1);
          }
        } catch (err) {
          assert.ok(err instanceof LoginNegotiationError, String(err));
          return;
        }
        for (const [key, count] of answeredTotal) assert.equal(count, 1, `${key} answered ${count} times`);
        n.result();
      }),
      { numRuns: 1000 },
    );
  });
});
