// SECURITY PROTOCOL IN and OUT (SPC-4 6.30, 6.31) with the tape data
// encryption protocol 20h (SSC-4 8.5) as LTO-4 and later drives offer it for
// application-managed encryption (NetBackup, Spectrum Protect, Veeam, stenc):
// AES-256-GCM with a plain 256-bit key from SET DATA ENCRYPTION, and the
// pages that report capabilities, the parameters in force and whether the
// next block is encrypted. Protocol 00h lists the protocols.
import { createSecretKey } from 'node:crypto';
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import { bitsOf, bytesOf, flag, PageLayout } from '../page-layout.ts';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, parameterListLengthError } from '../sense.ts';
import { writableDensity } from './density.ts';
import type { DecryptionMode, EncryptionParameters, KeyScope } from './data-encryption.ts';
import { AES_256_GCM_KEY_BYTES, recordInfo, type KeyAssociatedData } from './encrypted-record.ts';
import type { TapeDrive } from './state.ts';

const SECURITY_PROTOCOL_IN = 0xa2;
const SECURITY_PROTOCOL_OUT = 0xb5;
const INC_512 = 0x80;

const Protocol = { information: 0x00, tapeDataEncryption: 0x20 } as const;
const Page = {
  inSupport: 0x0000,
  outSupport: 0x0001,
  capabilities: 0x0010,
  keyFormats: 0x0011,
  managementCapabilities: 0x0012,
  status: 0x0020,
  nextBlockStatus: 0x0021,
  setDataEncryption: 0x0010,
} as const;
const InformationPage = { supportedProtocols: 0x0000, certificate: 0x0001 } as const;

/** The one algorithm: AES-256-GCM with a 16-byte tag (SSC-4 Annex: security algorithm code 00010014h). */
const ALGORITHM_INDEX = 1;
const AES_256_GCM_16 = 0x00010014;
const PLAIN_TEXT_KEY = 0x00;
const MAX_UKAD = 32;
const MAX_AKAD = 12;
const KadType = { ukad: 0x00, akad: 0x01 } as const;

const EncryptionMode = { disable: 0, external: 1, encrypt: 2 } as const;
const DecryptionModeCode: Record<DecryptionMode, number> = { disable: 0, decrypt: 2, mixed: 3 };
const ScopeCode: Record<KeyScope, number> = { public: 0, local: 1, 'all-i-t-nexus': 2 };
/** RDMC 3h: encrypted blocks are never read raw. Raw mode is not offered. */
const RDMC_DISABLED = 3;

/** Every SPIN/SPOUT page starts with its code and the length of what follows. */
const pageHeader = new PageLayout(4, { pageCode: bytesOf(0, 2), pageLength: bytesOf(2, 2) });

function page(code: number, body: Buffer): Buffer {
  return Buffer.concat([pageHeader.encode({ pageCode: code, pageLength: body.length }), body]);
}

const pageList = (codes: readonly number[]): Buffer => Buffer.from(codes.flatMap((c) => [c >> 8, c & 0xff]));

/** Data Encryption Capabilities (0010h) body, before its algorithm descriptors. */
const capabilitiesFields = new PageLayout(16, {
  externalDataEncryptionControl: bitsOf(0, 3, 2),
  configurationPrevented: bitsOf(0, 1, 0),
});

/** One algorithm descriptor of the capabilities page (SSC-4 table "Data encryption algorithm descriptor"). */
const algorithmDescriptor = new PageLayout(24, {
  algorithmIndex: bytesOf(0),
  descriptorLength: bytesOf(2, 2),
  validForMountedVolume: flag(4, 7),
  supplementalKeyCapable: flag(4, 6),
  macCapable: flag(4, 5),
  distinguishEncryptedBlockCapable: flag(4, 4),
  decryptCapabilities: bitsOf(4, 3, 2),
  encryptCapabilities: bitsOf(4, 1, 0),
  nonceCapabilities: bitsOf(5, 5, 4),
  kadFormatCapable: flag(5, 3),
  maximumUkadBytes: bytesOf(6, 2),
  maximumAkadBytes: bytesOf(8, 2),
  keySize: bytesOf(10, 2),
  rawDecryptionModeControl: bitsOf(12, 3, 1),
  recordsEncryptionMode: flag(12, 0),
  algorithmCode: bytesOf(20, 4),
});

/** Data Encryption Management Capabilities (0012h) body. */
const managementFields = new PageLayout(12, {
  lockCapable: flag(0, 0),
  clearKeyOnDemountCapable: flag(1, 2),
  allITNexusCapable: flag(3, 2),
  localCapable: flag(3, 1),
  publicCapable: flag(3, 0),
});

/** Data Encryption Status (0020h) body, before its KAD descriptors. */
const statusFields = new PageLayout(20, {
  nexusScope: bitsOf(0, 7, 5),
  keyScope: bitsOf(0, 2, 0),
  encryptionMode: bytesOf(1),
  decryptionMode: bytesOf(2),
  algorithmIndex: bytesOf(3),
  keyInstanceCounter: bytesOf(4, 4),
  parametersControl: bitsOf(8, 6, 4),
  rawDecryptionModeDisabled: flag(8, 0),
  kadFormat: bytesOf(9),
});

/** Next Block Encryption Status (0021h) body, before its KAD descriptors. */
const nextBlockFields = new PageLayout(12, {
  logicalObjectNumber: bytesOf(2, 6), // the low 6 bytes of the 8-byte field (bytes 0-1 stay 0)
  compressionStatus: bitsOf(8, 7, 4),
  encryptionStatus: bitsOf(8, 3, 0),
  algorithmIndex: bytesOf(9),
  rawDecryptionModeDisabled: flag(10, 0),
  kadFormat: bytesOf(11),
});

/** ENCRYPTION STATUS values of the Next Block Encryption Status page (SSC-4). */
const BlockStatus = { notALogicalBlock: 2, notEncrypted: 3, encryptedCanDecrypt: 5, encryptedCannotDecrypt: 6 } as const;
/** PARAMETERS CONTROL 1h: the parameters are not exclusively controlled by external data encryption control. */
const NOT_EXCLUSIVELY_EXTERNAL = 1;

/** Set Data Encryption (0010h) page body, before the key. */
const setFields = new PageLayout(16, {
  scope: bitsOf(0, 7, 5),
  lock: flag(0, 0),
  checkExternalEncryptionMode: bitsOf(1, 7, 6),
  rawDecryptionModeControl: bitsOf(1, 5, 4),
  supplementalDecryptionKey: flag(1, 3),
  clearKeyOnDemount: flag(1, 2),
  clearKeyOnReservationPreempt: flag(1, 1),
  clearKeyOnReservationLoss: flag(1, 0),
  encryptionMode: bytesOf(2),
  decryptionMode: bytesOf(3),
  algorithmIndex: bytesOf(4),
  keyFormat: bytesOf(5),
  kadFormat: bytesOf(6),
  keyLength: bytesOf(14, 2),
});

/** A key-associated data descriptor (SSC-4 8.5.4.3): type, AUTHENTICATED, length, bytes. */
const kadHeader = new PageLayout(4, { type: bytesOf(0), authenticated: bitsOf(1, 2, 0), length: bytesOf(2, 2) });
/** AUTHENTICATED: 1h not authenticated, 2h authenticated by the device server. */
const Authenticated = { no: 1, yes: 2 } as const;

function kadDescriptors(kad: KeyAssociatedData, akadAuthenticated: number): Buffer {
  const out: Buffer[] = [];
  if (kad.ukad) out.push(kadHeader.encode({ type: KadType.ukad, authenticated: Authenticated.no, length: kad.ukad.length }), kad.ukad);
  if (kad.akad) out.push(kadHeader.encode({ type: KadType.akad, authenticated: akadAuthenticated, length: kad.akad.length }), kad.akad);
  return Buffer.concat(out);
}

function capabilities(drive: TapeDrive): Buffer {
  const medium = drive.bay.medium;
  const descriptor = algorithmDescriptor.encode({
    algorithmIndex: ALGORITHM_INDEX,
    descriptorLength: algorithmDescriptor.length - 4,
    validForMountedVolume: medium !== undefined && writableDensity(medium.densityCode),
    macCapable: true,
    distinguishEncryptedBlockCapable: true,
    decryptCapabilities: 2, // 10b: decrypts with a key the application provides
    encryptCapabilities: 2,
    nonceCapabilities: 1, // 01b: the device server generates the nonce (the IV)
    kadFormatCapable: true,
    maximumUkadBytes: MAX_UKAD,
    maximumAkadBytes: MAX_AKAD,
    keySize: AES_256_GCM_KEY_BYTES,
    rawDecryptionModeControl: 1, // 001b: raw decryption is not allowed
    recordsEncryptionMode: true,
    algorithmCode: AES_256_GCM_16,
  });
  return page(Page.capabilities, Buffer.concat([capabilitiesFields.encode({ configurationPrevented: 1 }), descriptor]));
}

function status(drive: TapeDrive, nexusKey: string): Buffer {
  const { parameters: p, nexusScope, keyScope } = drive.encryption.view(nexusKey);
  const body = statusFields.encode({
    nexusScope: ScopeCode[nexusScope],
    keyScope: ScopeCode[keyScope],
    encryptionMode: p?.encrypt ? EncryptionMode.encrypt : EncryptionMode.disable,
    decryptionMode: DecryptionModeCode[p?.decryption ?? 'disable'],
    algorithmIndex: p && (p.encrypt || p.decryption !== 'disable') ? p.algorithmIndex : 0,
    keyInstanceCounter: drive.encryption.keyInstanceCounter,
    parametersControl: NOT_EXCLUSIVELY_EXTERNAL,
    rawDecryptionModeDisabled: p !== undefined,
    kadFormat: p?.kad.format ?? 0,
  });
  return page(Page.status, Buffer.concat([body, p ? kadDescriptors(p.kad, Authenticated.no) : Buffer.alloc(0)]));
}

async function nextBlockStatus(drive: TapeDrive, nexusKey: string): Promise<Buffer> {
  const medium = drive.medium();
  const at = medium.location().objectNumber;
  const object = await drive.io(Asc.UNRECOVERED_READ_ERROR, () => medium.peek());
  const fields = { logicalObjectNumber: at };
  if (object.kind !== 'record')
    return page(Page.nextBlockStatus, nextBlockFields.encode({ ...fields, encryptionStatus: BlockStatus.notALogicalBlock }));
  try {
    if (!object.encrypted)
      return page(Page.nextBlockStatus, nextBlockFields.encode({ ...fields, encryptionStatus: BlockStatus.notEncrypted }));
    const info = recordInfo(object.data);
    const canOpen = drive.encryption.canOpen(nexusKey, object.data);
    const body = nextBlockFields.encode({
      ...fields,
      encryptionStatus: canOpen ? BlockStatus.encryptedCanDecrypt : BlockStatus.encryptedCannotDecrypt,
      algorithmIndex: info.algorithmIndex,
      rawDecryptionModeDisabled: true,
      kadFormat: info.format,
    });
    return page(Page.nextBlockStatus, Buffer.concat([body, kadDescriptors(info, canOpen ? Authenticated.yes : Authenticated.no)]));
  } finally {
    object.release?.();
  }
}

const transferLength = (ctx: CommandContext): number => ctx.cdb.readUInt32BE(6) * (ctx.cdb.readUInt8(4) & INC_512 ? 512 : 1);

function securityProtocolIn(drive: TapeDrive): CommandEntry {
  return {
    opcode: SECURITY_PROTOCOL_IN,
    name: 'SECURITY PROTOCOL IN',
    usage: [SECURITY_PROTOCOL_IN, 0xff, 0xff, 0xff, INC_512, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
    access: Access.read,
    async handler(ctx) {
      const protocol = ctx.cdb.readUInt8(1);
      const specific = ctx.cdb.readUInt16BE(2);
      let data: Buffer;
      if (protocol === Protocol.information) {
        if (specific === InformationPage.supportedProtocols) {
          const list = Buffer.from([Protocol.information, Protocol.tapeDataEncryption]);
          data = Buffer.concat([Buffer.alloc(6), Buffer.from([0, list.length]), list]);
        } else if (specific === InformationPage.certificate) {
          data = Buffer.alloc(4); // no certificate
        } else throw invalidFieldInCdb(2);
      } else if (protocol === Protocol.tapeDataEncryption) {
        switch (specific) {
          case Page.inSupport:
            data = page(
              specific,
              pageList([
                Page.inSupport,
                Page.outSupport,
                Page.capabilities,
                Page.keyFormats,
                Page.managementCapabilities,
                Page.status,
                Page.nextBlockStatus,
              ]),
            );
            break;
          case Page.outSupport:
            data = page(specific, pageList([Page.setDataEncryption]));
            break;
          case Page.capabilities:
            data = capabilities(drive);
            break;
          case Page.keyFormats:
            data = page(specific, Buffer.from([PLAIN_TEXT_KEY]));
            break;
          case Page.managementCapabilities:
            data = page(
              specific,
              managementFields.encode({ clearKeyOnDemountCapable: true, allITNexusCapable: true, localCapable: true, publicCapable: true }),
            );
            break;
          case Page.status:
            data = status(drive, ctx.nexus.key);
            break;
          case Page.nextBlockStatus:
            data = await nextBlockStatus(drive, ctx.nexus.key);
            break;
          default:
            throw invalidFieldInCdb(2);
        }
      } else throw invalidFieldInCdb(1);
      return truncate(data, transferLength(ctx));
    },
  };
}

/** One KAD descriptor after the key, checked; `at` is its offset in the parameter list. */
function readKads(list: Buffer, from: number, end: number): { ukad?: Buffer; akad?: Buffer } {
  const kads: { ukad?: Buffer; akad?: Buffer } = {};
  for (let at = from; at < end;) {
    if (at + kadHeader.length > end) throw parameterListLengthError();
    const type = kadHeader.get(list.subarray(at), 'type');
    const length = kadHeader.get(list.subarray(at), 'length');
    const value = list.subarray(at + kadHeader.length, at + kadHeader.length + length);
    if (value.length < length) throw parameterListLengthError();
    if (type === KadType.ukad && !kads.ukad && length <= MAX_UKAD) kads.ukad = Buffer.from(value);
    else if (type === KadType.akad && !kads.akad && length <= MAX_AKAD) kads.akad = Buffer.from(value);
    else throw invalidFieldInParameterList(type === KadType.ukad || type === KadType.akad ? at + 2 : at);
    at += kadHeader.length + length;
  }
  return kads;
}

/**
 * The Set Data Encryption page: the scope and the parameters it sets. Checks
 * come before anything changes; the key bytes are wiped from the parameter
 * list once taken (the KeyObject is the only copy).
 */
function parseSetDataEncryption(list: Buffer): { scope: KeyScope; parameters: EncryptionParameters } {
  const H = pageHeader.length;
  if (list.length < H + setFields.length) throw parameterListLengthError();
  if (pageHeader.get(list, 'pageCode') !== Page.setDataEncryption) throw invalidFieldInParameterList(0);
  const end = H + pageHeader.get(list, 'pageLength');
  if (end > list.length || end < H + setFields.length) throw parameterListLengthError();
  const body = list.subarray(H, end);
  const field = (name: keyof typeof setFields.fields): number => setFields.get(body, name);
  const at = (name: keyof typeof setFields.fields): number => H + setFields.fields[name].byte;
  const scope = (['public', 'local', 'all-i-t-nexus'] as const)[field('scope')];
  if (scope === undefined) throw invalidFieldInParameterList(at('scope'), 7);
  if (field('lock')) throw invalidFieldInParameterList(at('lock'), 0); // LOCK_C 0
  const disabled = {
    encrypt: false,
    decryption: 'disable',
    algorithmIndex: ALGORITHM_INDEX,
    key: undefined,
    kad: { format: 0 },
    clearOnDemount: false,
  } as const;
  // PUBLIC: every other field is ignored, the nexus takes the shared parameters.
  if (scope === 'public') return { scope, parameters: disabled };
  if (field('checkExternalEncryptionMode')) throw invalidFieldInParameterList(at('checkExternalEncryptionMode'), 7);
  const rdmc = field('rawDecryptionModeControl');
  if (rdmc !== 0 && rdmc !== RDMC_DISABLED) throw invalidFieldInParameterList(at('rawDecryptionModeControl'), 5);
  if (field('supplementalDecryptionKey')) throw invalidFieldInParameterList(at('supplementalDecryptionKey'), 3);
  if (field('clearKeyOnReservationPreempt')) throw invalidFieldInParameterList(at('clearKeyOnReservationPreempt'), 1);
  if (field('clearKeyOnReservationLoss')) throw invalidFieldInParameterList(at('clearKeyOnReservationLoss'), 0);
  const encryptionMode = field('encryptionMode');
  if (encryptionMode !== EncryptionMode.disable && encryptionMode !== EncryptionMode.encrypt)
    throw invalidFieldInParameterList(at('encryptionMode'));
  const decryption = (Object.keys(DecryptionModeCode) as DecryptionMode[]).find((m) => DecryptionModeCode[m] === field('decryptionMode'));
  if (decryption === undefined) throw invalidFieldInParameterList(at('decryptionMode'));
  const keyLength = field('keyLength');
  const keyAt = H + setFields.length;
  if (keyAt + keyLength > end) throw parameterListLengthError();
  const keyBytes = list.subarray(keyAt, keyAt + keyLength);
  const encrypt = encryptionMode === EncryptionMode.encrypt;
  const base = { encrypt, decryption, algorithmIndex: ALGORITHM_INDEX, clearOnDemount: field('clearKeyOnDemount') === 1 };
  try {
    // With both modes disabled the rest is not looked at: stenc sends a zeroed key then.
    if (!encrypt && decryption === 'disable') return { scope, parameters: { ...disabled, clearOnDemount: base.clearOnDemount } };
    if (field('algorithmIndex') !== ALGORITHM_INDEX) throw invalidFieldInParameterList(at('algorithmIndex'));
    if (field('keyFormat') !== PLAIN_TEXT_KEY) throw invalidFieldInParameterList(at('keyFormat'));
    if (field('kadFormat') > 2) throw invalidFieldInParameterList(at('kadFormat'));
    if (keyLength !== AES_256_GCM_KEY_BYTES) throw invalidFieldInParameterList(at('keyLength'));
    const kads = readKads(list, keyAt + keyLength, end);
    return { scope, parameters: { ...base, key: createSecretKey(keyBytes), kad: { format: field('kadFormat'), ...kads } } };
  } finally {
    keyBytes.fill(0);
  }
}

function securityProtocolOut(drive: TapeDrive): CommandEntry {
  return {
    opcode: SECURITY_PROTOCOL_OUT,
    name: 'SECURITY PROTOCOL OUT',
    usage: [SECURITY_PROTOCOL_OUT, 0xff, 0xff, 0xff, INC_512, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
    handler(ctx) {
      if (ctx.cdb[1] !== Protocol.tapeDataEncryption) throw invalidFieldInCdb(1);
      if (ctx.cdb.readUInt16BE(2) !== Page.setDataEncryption) throw invalidFieldInCdb(2);
      const length = transferLength(ctx);
      if (ctx.cmd.dataOut.length < length) throw parameterListLengthError();
      const { scope, parameters } = parseSetDataEncryption(ctx.cmd.dataOut.subarray(0, length));
      drive.encryption.set(ctx.nexus.key, scope, parameters);
    },
  };
}

export function securityProtocolCommands(drive: TapeDrive): CommandEntry[] {
  return [securityProtocolIn(drive), securityProtocolOut(drive)];
}
