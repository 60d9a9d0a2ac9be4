import assert from 'node:assert/strict';
import { BarcodeError, validateBarcode } from '../../src/tape/barcode.ts';

function message(barcode: string): string {
  try {
    validateBarcode(barcode);
  } catch (err) {
    assert.ok(err instanceof BarcodeError);
    assert.equal(err.barcode, barcode);
    return err.message;
  }
  assert.fail(`${barcode} was accepted`);
}

describe('barcodes', function () {
  it('accepts 5 to 16 upper-case letters and digits, with or without an LTO media ID', function () {
    for (const b of ['ABCDE', '12345', 'ABC123L5', 'TST001LV', 'A'.repeat(16), 'CLN001L1']) assert.equal(validateBarcode(b), b);
  });

  it('says to type the upper-case form', function () {
    assert.equal(message('abc123l5'), 'barcode "abc123l5" has lower-case letters: type ABC123L5');
  });

  it('names the characters a label cannot carry and offers the label without them', function () {
    assert.equal(message('ABC-123 L5'), 'barcode "ABC-123 L5" has characters a label cannot carry ("-", " "): type ABC123L5');
    assert.equal(message('tape_01'), 'barcode "tape_01" has characters a label cannot carry ("_"): type TAPE01');
    assert.equal(message('A-B'), 'barcode "A-B" has characters a label cannot carry ("-"): use only A-Z and 0-9, e.g. ABC12345');
    assert.equal(message('ÄBC123'), 'barcode "ÄBC123" has characters a label cannot carry ("Ä"): type BC123');
  });

  it('says how long a barcode must be, with an example of the right length', function () {
    assert.equal(message(''), 'the barcode is empty: type 5 to 16 letters A-Z and digits, e.g. ABC12345');
    assert.equal(message('AB1'), 'barcode "AB1" has 3 characters, at least 5 are needed: e.g. type AB100');
    assert.equal(message('ab1'), 'barcode "ab1" has 3 characters, at least 5 are needed: e.g. type AB100');
    assert.equal(
      message('ABCDEFGHIJKLMNOPQ'),
      'barcode "ABCDEFGHIJKLMNOPQ" has 17 characters, at most 16 fit a label: e.g. type ABCDEFGHIJKLMNOP',
    );
  });
});
