// The drive's data encryption parameters (SSC-4 4.2.27, 8.5): what SET DATA
// ENCRYPTION established for each I_T nexus, how records are sealed on the way
// to the medium and opened on the way back, and when the key is forgotten.
//
// Key scope: parameters set with scope ALL I_T NEXUS are shared by every
// nexus that has none of its own; LOCAL ones belong to the nexus that set
// them; PUBLIC makes a nexus drop its own and use the shared ones. A key is
// held in memory only (a KeyObject), never logged or written anywhere, and
// forgotten at a logical unit reset, at the loss of the nexus that set it, and
// at unload when CKOD asked for it.
import type { KeyObject } from 'node:crypto';
import { Asc, scsiError, SenseKey, type ScsiError } from '../sense.ts';
import { openRecord, sealRecord, UndecryptableRecordError, type KeyAssociatedData } from './encrypted-record.ts';
import type { TapeObject } from './tape-medium.ts';

export type DecryptionMode = 'disable' | 'decrypt' | 'mixed';
export type KeyScope = 'public' | 'local' | 'all-i-t-nexus';

export interface EncryptionParameters {
  /** ENCRYPTION MODE ENCRYPT: records written are sealed with the key. */
  readonly encrypt: boolean;
  readonly decryption: DecryptionMode;
  readonly algorithmIndex: number;
  /** Present whenever encrypt or decryption other than disable. */
  readonly key: KeyObject | undefined;
  readonly kad: KeyAssociatedData;
  /** CKOD: forgotten when the cartridge is unloaded. */
  readonly clearOnDemount: boolean;
}

interface Established extends EncryptionParameters {
  readonly scope: Exclude<KeyScope, 'public'>;
  /** The I_T nexus that set them: its loss clears them. */
  readonly owner: string;
}

/** Where a nexus's parameters come from, for the Data Encryption Status page. */
export interface ParametersView {
  readonly parameters: EncryptionParameters | undefined;
  /** I_T NEXUS SCOPE: the nexus uses the shared parameters (public) or its own (local). */
  readonly nexusScope: 'public' | 'local';
  /** KEY SCOPE of the parameters in use. */
  readonly keyScope: KeyScope;
}

const unableToDecrypt = (): ScsiError => scsiError(SenseKey.DataProtect, Asc.UNABLE_TO_DECRYPT_DATA);

export class DataEncryption {
  private shared: Established | undefined;
  private readonly local = new Map<string, Established>();
  /** KEY INSTANCE COUNTER: counts every change of the parameters. */
  keyInstanceCounter = 0;

  view(nexusKey: string): ParametersView {
    const own = this.local.get(nexusKey);
    if (own) return { parameters: own, nexusScope: 'local', keyScope: 'local' };
    return { parameters: this.shared, nexusScope: 'public', keyScope: this.shared ? 'all-i-t-nexus' : 'public' };
  }

  parametersFor(nexusKey: string): EncryptionParameters | undefined {
    return this.local.get(nexusKey) ?? this.shared;
  }

  /** SET DATA ENCRYPTION from a nexus: PUBLIC drops its own parameters (it uses the shared ones; `parameters` are ignored), LOCAL sets its own, ALL I_T NEXUS the shared ones. */
  set(nexusKey: string, scope: KeyScope, parameters: EncryptionParameters): void {
    this.local.delete(nexusKey);
    if (scope === 'local') this.local.set(nexusKey, { ...parameters, scope, owner: nexusKey });
    if (scope === 'all-i-t-nexus') this.shared = { ...parameters, scope, owner: nexusKey };
    this.keyInstanceCounter++;
  }

  /** The nexus is gone: what it set goes with it. */
  nexusLost(nexusKey: string): void {
    const lost = this.local.delete(nexusKey) || this.shared?.owner === nexusKey;
    if (this.shared?.owner === nexusKey) this.shared = undefined;
    if (lost) this.keyInstanceCounter++;
  }

  /** A cartridge was unloaded: parameters set with CKOD are cleared. */
  demounted(): void {
    let cleared = false;
    if (this.shared?.clearOnDemount) {
      this.shared = undefined;
      cleared = true;
    }
    for (const [key, p] of this.local) {
      if (!p.clearOnDemount) continue;
      this.local.delete(key);
      cleared = true;
    }
    if (cleared) this.keyInstanceCounter++;
  }

  /** A logical unit reset: every nexus back to the defaults (no encryption). */
  reset(): void {
    if (!this.shared && this.local.size === 0) return;
    this.shared = undefined;
    this.local.clear();
    this.keyInstanceCounter++;
  }

  /** The records as the medium gets them from this nexus: sealed when it encrypts, else as they are. */
  seal(nexusKey: string, records: Buffer[]): { records: Buffer[]; encrypted: boolean } {
    const p = this.parametersFor(nexusKey);
    if (!p?.encrypt || !p.key) return { records, encrypted: false };
    const key = p.key;
    return { records: records.map((r) => sealRecord(key, p.algorithmIndex, p.kad, r)), encrypted: true };
  }

  /**
   * A record read for this nexus, decrypted as its decryption mode says, or
   * the DATA PROTECT a real drive answers (SSC-4 4.2.27.6; the ASC/ASCQ of IBM's
   * LTO drives): an encrypted block without decryption 74/01, with the wrong
   * key 74/03, a plain block in DECRYPT mode 74/02. MIXED reads both.
   */
  reveal(nexusKey: string, object: Extract<TapeObject, { kind: 'record' }>): Extract<TapeObject, { kind: 'record' }> {
    const p = this.parametersFor(nexusKey);
    const decryption = p?.decryption ?? 'disable';
    if (!object.encrypted) {
      if (decryption !== 'decrypt') return object;
      object.release?.();
      throw scsiError(SenseKey.DataProtect, Asc.UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING);
    }
    try {
      if (decryption === 'disable' || !p?.key) throw unableToDecrypt();
      return { kind: 'record', data: openRecord(p.key, object.data) };
    } catch (err) {
      if (err instanceof UndecryptableRecordError) throw scsiError(SenseKey.DataProtect, Asc.INCORRECT_DATA_ENCRYPTION_KEY);
      throw err;
    } finally {
      object.release?.();
    }
  }

  /** Whether this nexus could decrypt a stored record now (Next Block Encryption Status). */
  canOpen(nexusKey: string, stored: Buffer): boolean {
    const p = this.parametersFor(nexusKey);
    if (!p?.key || p.decryption === 'disable') return false;
    try {
      openRecord(p.key, stored);
      return true;
    } catch (err) {
      if (err instanceof UndecryptableRecordError) return false;
      throw err;
    }
  }
}
