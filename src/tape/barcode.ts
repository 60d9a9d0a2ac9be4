// Cartridge barcodes (volume tags) as LTO labels and AWS's tape gateway allow
// them: 5 to 16 upper-case letters and digits, e.g. "ABC123" or, with an LTO
// media identifier after six characters, "ABC123L5".

export const MIN_BARCODE_LENGTH = 5;
export const MAX_BARCODE_LENGTH = 16;

const EXAMPLE = 'ABC12345';

export class BarcodeError extends Error {
  constructor(
    readonly barcode: string,
    message: string,
  ) {
    super(message);
    this.name = 'BarcodeError';
  }
}

/** Throws a BarcodeError saying what to type instead unless `barcode` is a valid label. */
export function validateBarcode(barcode: string): string {
  // A long one is shown by its start: a refusal of 2,000 characters should not repeat them.
  const shown =
    barcode.length > 2 * MAX_BARCODE_LENGTH ? `${JSON.stringify(barcode.slice(0, MAX_BARCODE_LENGTH))}…` : JSON.stringify(barcode);
  if (barcode.length === 0)
    throw new BarcodeError(
      barcode,
      `the barcode is empty: type ${MIN_BARCODE_LENGTH} to ${MAX_BARCODE_LENGTH} letters A-Z and digits, e.g. ${EXAMPLE}`,
    );
  const upper = barcode.toUpperCase();
  if (upper !== barcode && /^[A-Z0-9]+$/.test(upper) && upper.length >= MIN_BARCODE_LENGTH && upper.length <= MAX_BARCODE_LENGTH) {
    throw new BarcodeError(barcode, `barcode ${shown} has lower-case letters: type ${upper}`);
  }
  const kept = upper.replace(/[^A-Z0-9]/g, '');
  if (kept !== upper) {
    const bad = [...new Set(upper.replace(/[A-Z0-9]/g, ''))].map((c) => JSON.stringify(c)).join(', ');
    const hint =
      kept.length >= MIN_BARCODE_LENGTH && kept.length <= MAX_BARCODE_LENGTH ? `type ${kept}` : `use only A-Z and 0-9, e.g. ${EXAMPLE}`;
    throw new BarcodeError(barcode, `barcode ${shown} has characters a label cannot carry (${bad}): ${hint}`);
  }
  if (barcode.length < MIN_BARCODE_LENGTH) {
    throw new BarcodeError(
      barcode,
      `barcode ${shown} has ${barcode.length} characters, at least ${MIN_BARCODE_LENGTH} are needed: e.g. type ${upper.padEnd(MIN_BARCODE_LENGTH, '0')}`,
    );
  }
  if (barcode.length > MAX_BARCODE_LENGTH) {
    throw new BarcodeError(
      barcode,
      `barcode ${shown} has ${barcode.length} characters, at most ${MAX_BARCODE_LENGTH} fit a label: e.g. type ${upper.slice(0, MAX_BARCODE_LENGTH)}`,
    );
  }
  return barcode;
}
