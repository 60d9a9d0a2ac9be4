import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LoginNegotiationError,
  decodeTextData,
  encodeTextData,
  parseBinary,
  parseBoolean,
  parseList,
  parseNumber,
  parseNumberRange,
} from '../../src/iscsi/text.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

function assertInitiatorError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LoginNegotiationError);
    assert.deepEqual(err.status, { statusClass: 2, statusDetail: 0 });
    assert.match(err.message, pattern);
    return true;
  });
}

describe('iSCSI text data', () => {
  it('decodes NUL-terminated pairs in order', () => {
    const data = bytes('InitiatorName=iqn.1993-08.org.debian:01:abc\0SessionType=Normal\0AuthMethod=CHAP,None\0');
    assert.deepEqual(decodeTextData(data), [
      { key: 'InitiatorName', value: 'iqn.1993-08.org.debian:01:abc' },
      { key: 'SessionType', value: 'Normal' },
      { key: 'AuthMethod', value: 'CHAP,None' },
    ]);
  });

  it('keeps "=" inside values and tolerates a missing final NUL or padding NULs', () => {
    assert.deepEqual(decodeTextData(bytes('X-a=b=c')), [{ key: 'X-a', value: 'b=c' }]);
    assert.deepEqual(decodeTextData(bytes('X#org.example=1\0')), [{ key: 'X#org.example', value: '1' }]);
    assert.deepEqual(decodeTextData(bytes('A=1\0\0\0\0')), [{ key: 'A', value: '1' }]);
    assert.deepEqual(decodeTextData(new Uint8Array(0)), []);
  });

  it('rejects malformed data with an initiator error', () => {
    assertInitiatorError(() => decodeTextData(bytes('NoEquals\0')), /without "="/);
    assertInitiatorError(() => decodeTextData(bytes('=value\0')), /empty/);
    assertInitiatorError(() => decodeTextData(bytes('A=1\0\0B=2\0')), /without "="/);
    assertInitiatorError(() => decodeTextData(bytes(`${'K'.repeat(64)}=1\0`)), /longer than 63/);
    assert.equal(decodeTextData(bytes(`${'K'.repeat(63)}=1\0`)).length, 1);
    assertInitiatorError(() => decodeTextData(bytes(`A=${'v'.repeat(8193)}\0`)), /longer than 8192/);
    assert.equal(decodeTextData(bytes(`A=${'v'.repeat(8192)}\0`))[0]!.value.length, 8192);
    assertInitiatorError(() => decodeTextData(Buffer.from([0x41, 0x3d, 0xff, 0xfe, 0])), /UTF-8/);
    assertInitiatorError(() => decodeTextData(bytes('A B=1\0')), /invalid text key/);
    assertInitiatorError(() => decodeTextData(bytes('MaxBurstLength=1\0MaxBurstLength=2\0')), /duplicate/);
  });

  it('encodes pairs back to the same bytes', () => {
    const data = bytes('TargetPortalGroupTag=1\0HeaderDigest=None\0');
    assert.deepEqual(encodeTextData(decodeTextData(data)), data);
  });

  it('parses numbers, ranges, booleans, lists and binary values', () => {
    assert.equal(parseNumber('262144'), 262144);
    assert.equal(parseNumber('0x40000'), 262144);
    assert.equal(parseNumber('0X10', 0, 16), 16);
    assert.equal(parseNumber('511', 512, 1000), undefined);
    assert.equal(parseNumber('-1'), undefined);
    assert.equal(parseNumber('1e3'), undefined);
    assert.equal(parseNumber(''), undefined);
    assert.equal(parseNumber('99999999999999999'), undefined);
    assert.deepEqual(parseNumberRange('10~20'), { low: 10, high: 20 });
    assert.equal(parseNumberRange('20~10'), undefined);
    assert.equal(parseBoolean('Yes'), true);
    assert.equal(parseBoolean('No'), false);
    assert.equal(parseBoolean('yes'), undefined);
    assert.deepEqual(parseList('CRC32C,None'), ['CRC32C', 'None']);
    assert.equal(parseList('CRC32C,,None'), undefined);
    assert.deepEqual(parseBinary('0x0a0B'), Buffer.from([10, 11]));
    assert.deepEqual(parseBinary('0xabc'), Buffer.from([0x0a, 0xbc]));
    assert.deepEqual(parseBinary('0bAQID'), Buffer.from([1, 2, 3]));
    assert.equal(parseBinary('0bAQI'), undefined);
    assert.equal(parseBinary('0x'), undefined);
    assert.equal(parseBinary('1234'), undefined);
  });

  it('never throws anything but LoginNegotiationError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        try {
          decodeTextData(data);
        } catch (err) {
          assert.ok(err instanceof LoginNegotiationError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any well-formed pairs', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9.\-+@_#]{1,63}$/);
    const value = fc.string({ maxLength: 100 }).filter((v) => !v.includes('\0'));
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ key, value }).map((p) => ({ ...p })),
          { selector: (p) => p.key, maxLength: 10 },
        ),
        (pairs) => {
          assert.deepEqual(decodeTextData(encodeTextData(pairs)), pairs);
        },
      ),
    );
  });
});
