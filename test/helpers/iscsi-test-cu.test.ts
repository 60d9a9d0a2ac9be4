// The reading of iscsi-test-cu's CUnit output, on excerpts of what libiscsi 1.19 printed against
// tgtd and the gateway: the peer comparison is only as good as this.
import assert from 'node:assert/strict';
import { parseCuOutput } from './iscsi-test-cu.ts';

const output = `

     CUnit - A unit testing framework for C - Version 2.1-3
     http://cunit.sourceforge.net/


Suite: GetLBAStatus
  Test: Simple ...passed
  Test: BeyondEol ...    [FAILED] GET_LBA_STATUS successful but should have failed with ILLEGAL_REQUEST(0x05)/LBA_OUT_OF_RANGE(0x2100)
FAILED
    1. test_get_lba_status_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)
  Test: UnmapSingle ...    [SKIPPED] Logical unit is fully provisioned. Skipping test
passed
Suite: Reserve6
  Test: TargetWarmReset ...    [SKIPPED] Task Management functionfor WarmReset is not working/implemented

passed
  Test: LUNReset ...passed    [FAILED] PRIN command: failed with sense. SENSE KEY:UNIT_ATTENTION(6) ASCQ:BUS_RESET(0x2900)

Suite: WriteSame10
  Test: UnmapVPD ...    [FAILED] WRITESAME10 command failed with status 2 / sense key ILLEGAL_REQUEST(0x05) / ASCQ INVALID_FIELD_IN_CDB(0x2400)
passed
Suite: ModeSense6
  Test: Control-SWP ...    SWP is not changeable
passed
Suite: iSCSIdatasn
  Test: iSCSIDataSnInvalid ...FAILED
    1. test_iscsi_datasn_invalid.c:98  - CU_ASSERT_NOT_EQUAL(ret,0)
    2. test_iscsi_datasn_invalid.c:116  - CU_ASSERT_NOT_EQUAL(ret,0)
Suite: Read10
  Test: Simple ...

Run Summary:    Type  Total    Ran Passed Failed Inactive
              suites      5      5    n/a      0        0
               tests     10     10      8      2        0
             asserts     40     40     37      3      n/a
`;

describe('iscsi-test-cu output', () => {
  const parsed = parseCuOutput(output);
  const outcome = (suite: string, test: string) => parsed.tests.find((t) => t.suite === suite && t.test === test)?.outcome;

  it('reads each test with its suite, in order', () => {
    assert.deepEqual(
      parsed.tests.map((t) => `${t.suite}.${t.test}`),
      [
        'GetLBAStatus.Simple',
        'GetLBAStatus.BeyondEol',
        'GetLBAStatus.UnmapSingle',
        'Reserve6.TargetWarmReset',
        'Reserve6.LUNReset',
        'WriteSame10.UnmapVPD',
        'ModeSense6.Control-SWP',
        'iSCSIdatasn.iSCSIDataSnInvalid',
        'Read10.Simple',
      ],
    );
    assert.equal(parsed.ran, 10);
  });

  it("takes CUnit's verdict, not the words libiscsi logs: a logged [FAILED] in a passed test is a pass", () => {
    assert.equal(outcome('GetLBAStatus', 'Simple'), 'pass');
    assert.equal(outcome('WriteSame10', 'UnmapVPD'), 'pass');
    assert.equal(outcome('GetLBAStatus', 'BeyondEol'), 'fail');
    assert.equal(outcome('iSCSIdatasn', 'iSCSIDataSnInvalid'), 'fail');
  });

  it("counts a pass after a logged [SKIPPED], or after set_swp's silent skip, as a skip", () => {
    assert.equal(outcome('GetLBAStatus', 'UnmapSingle'), 'skip');
    assert.equal(outcome('Reserve6', 'TargetWarmReset'), 'skip');
    assert.equal(outcome('ModeSense6', 'Control-SWP'), 'skip');
  });

  it('gives clean-up messages printed after the verdict to the test without changing it', () => {
    const lunReset = parsed.tests.find((t) => t.test === 'LUNReset')!;
    assert.equal(lunReset.outcome, 'pass');
    assert.match(lunReset.log.join('\n'), /BUS_RESET/);
  });

  it('keeps the failed assertions and marks a test with no verdict as not run', () => {
    const datasn = parsed.tests.find((t) => t.test === 'iSCSIDataSnInvalid')!;
    assert.deepEqual(datasn.assertions, [
      'test_iscsi_datasn_invalid.c:98  - CU_ASSERT_NOT_EQUAL(ret,0)',
      'test_iscsi_datasn_invalid.c:116  - CU_ASSERT_NOT_EQUAL(ret,0)',
    ]);
    assert.equal(outcome('Read10', 'Simple'), 'not-run');
  });

  it('notices a suite whose set-up (login) failed', () => {
    const failed = parseCuOutput("Suite: Read10\n\nWARNING - Suite initialization failed for 'Read10'.\n");
    assert.deepEqual(failed.suiteInitFailures, ['Read10']);
    assert.deepEqual(failed.tests, []);
  });
});
