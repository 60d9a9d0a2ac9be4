// iSCSI text and login data segments (RFC 7143 section 6.1): key=value pairs, each ended by NUL.

/** Login response Status-Class / Status-Detail (RFC 7143 section 11.13.5). */
export interface LoginStatus {
  readonly statusClass: number;
  readonly statusDetail: number;
}

export const LoginStatuses = {
  initiatorError: { statusClass: 0x02, statusDetail: 0x00 },
  authenticationFailure: { statusClass: 0x02, statusDetail: 0x01 },
  authorizationFailure: { statusClass: 0x02, statusDetail: 0x02 },
  missingParameter: { statusClass: 0x02, statusDetail: 0x07 },
  sessionTypeNotSupported: { statusClass: 0x02, statusDetail: 0x09 },
} as const satisfies Record<string, LoginStatus>;

/** A negotiation failure that must end the login with `status`. */
export class LoginNegotiationError extends Error {
  override readonly name = 'LoginNegotiationError';
  constructor(
    readonly status: LoginStatus,
    message: string,
  ) {
    super(message);
  }
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export const MAX_KEY_BYTES = 63;
export const MAX_VALUE_BYTES = 8192;

// RFC 7143 section 6.1 key-name characters, plus '#' for IANA-registered X#<name> keys.
const KEY_NAME = /^[A-Za-z0-9.\-+@_#]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(message: string): LoginNegotiationError {
  return new LoginNegotiationError(LoginStatuses.initiatorError, message);
}

/**
 * Decodes one exchange's data segment (already reassembled across C-bit PDUs) into ordered pairs.
 * Trailing NULs (padding some initiators count in the segment length) are ignored.
 */
export function decodeTextData(data: Uint8Array): KeyValue[] {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const pairs: KeyValue[] = [];
  const seen = new Set<string>();
  let start = 0;
  while (start < end) {
    let nul = data.indexOf(0, start);
    if (nul === -1) nul = end;
    const entry = data.subarray(start, nul);
    start = nul + 1;
    const eq = entry.indexOf(0x3d);
    if (eq === -1) throw malformed('text key without "="');
    if (eq === 0) throw malformed('empty text key');
    if (eq > MAX_KEY_BYTES) throw malformed(`text key longer than ${MAX_KEY_BYTES} bytes`);
    if (entry.length - eq - 1 > MAX_VALUE_BYTES) {
      throw malformed(`text value longer than ${MAX_VALUE_BYTES} bytes`);
    }
    let key: string;
    let value: string;
    try {
      key = utf8.decode(entry.subarray(0, eq));
      value = utf8.decode(entry.subarray(eq + 1));
    } catch {
      throw malformed('text is not valid UTF-8');
    }
    if (!KEY_NAME.test(key)) throw malformed(`invalid text key name ${JSON.stringify(key)}`);
    if (seen.has(key)) throw malformed(`duplicate text key ${key}`);
    seen.add(key);
    pairs.push({ key, value });
  }
  return pairs;
}

export function encodeTextData(pairs: readonly KeyValue[]): Buffer {
  return Buffer.from(pairs.map(({ key, value }) => `${key}=${value}\0`).join(''), 'utf8');
}

/**
 * Decimal or 0x-hex numerical value (RFC 7143 section 6.1) within [min, max];
 * undefined when malformed or out of range.
 */
export function parseNumber(value: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]{1,13}$/.test(value)) n = parseInt(value.slice(2), 16);
  else if (/^[0-9]{1,16}$/.test(value)) n = Number(value);
  else return undefined;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** A numerical range "low~high" with low <= high. */
export function parseNumberRange(value: string, min = 0, max = Number.MAX_SAFE_INTEGER): { low: number; high: number } | undefined {
  const parts = value.split('~');
  if (parts.length !== 2) return undefined;
  const low = parseNumber(parts[0]!, min, max);
  const high = parseNumber(parts[1]!, min, max);
  return low !== undefined && high !== undefined && low <= high ? { low, high } : undefined;
}

export function parseBoolean(value: string): boolean | undefined {
  return value === 'Yes' ? true : value === 'No' ? false : undefined;
}

export function formatBoolean(value: boolean): 'Yes' | 'No' {
  return value ? 'Yes' : 'No';
}

/** A comma-separated list; undefined when any element is empty. */
export function parseList(value: string): string[] | undefined {
  const items = value.split(',');
  return items.every((item) => item.length > 0) ? items : undefined;
}

/** A binary value in 0x-hex or 0b-base64 form (RFC 7143 section 6.1); undefined when malformed. */
export function parseBinary(value: string): Buffer | undefined {
  const prefix = value.slice(0, 2).toLowerCase();
  const body = value.slice(2);
  if (prefix === '0x') {
    if (!/^[0-9a-fA-F]+$/.test(body)) return undefined;
    // An odd digit count means a leading zero nibble was left out.
    return Buffer.from(body.length % 2 === 1 ? `0${body}` : body, 'hex');
  }
  if (prefix === '0b') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
    return Buffer.from(body, 'base64');
  }
  return undefined;
}

export function formatHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}
