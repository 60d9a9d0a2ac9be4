// Path parameters that become part of object keys are checked here, in the
// route, before any service sees them: a barcode names a cartridge's objects
// (tapes/<barcode>/…, shelf/<barcode>.tape), so "..", "A/B/C12" or 2,000
// characters never reach S3.
import { BarcodeError, validateBarcode } from '../tape/barcode.ts';
import { HttpError } from './http.ts';
import type { RouteRequest } from './router.ts';

/** The route's :barcode, or a 400 INVALID_BARCODE that says what to type instead. */
export function barcodeParam(request: RouteRequest): string {
  const barcode = request.params['barcode']!;
  try {
    return validateBarcode(barcode);
  } catch (err) {
    if (err instanceof BarcodeError) throw new HttpError(400, 'INVALID_BARCODE', err.message);
    throw err;
  }
}
