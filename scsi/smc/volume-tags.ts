// Barcode search (SMC-3 6.14, 6.11): SEND VOLUME TAG with action code 05h
// (translate, search primary volume tags) stores a template for the I_T nexus;
// REQUEST VOLUME ELEMENT ADDRESS reports the elements whose tag matches it.
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { invalidFieldInCdb, parameterListLengthError, scsiError, SenseKey } from '../sense.ts';
import { cutToAllocation, elementStatusReport } from './element-status.ts';
import { ElementType, type ElementStatus } from './media-library.ts';
import type { Changer } from './state.ts';

const TRANSLATE_PRIMARY = 0x05;
const PARAMETERS = 40;
const VOLTAG = 0x10;
const DVCID = 0x01;
/** COMMAND SEQUENCE ERROR: REQUEST VOLUME ELEMENT ADDRESS before any SEND VOLUME TAG. */
const COMMAND_SEQUENCE_ERROR = 0x2c00;

/** '*' stands for any characters, '?' for one; trailing spaces pad the 32-byte field. */
function templateMatcher(template: string): (barcode: string) => boolean {
  const pattern = template
    .replace(/[ \0]+$/, '')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const re = new RegExp(`^${pattern}$`);
  return (barcode) => re.test(barcode);
}

function elementType(cdb: Buffer): number {
  const type = cdb.readUInt8(1) & 0x0f;
  if (type > ElementType.DataTransfer) throw invalidFieldInCdb(1, 3);
  return type;
}

function sendVolumeTag(changer: Changer): CommandEntry {
  return {
    opcode: 0xb6,
    name: 'SEND VOLUME TAG',
    usage: [0xb6, 0xe0 | 0x0f, 0xff, 0xff, 0, 0x1f, 0, 0, 0xff, 0xff, 0, CONTROL],
    access: Access.read,
    handler({ cdb, cmd, nexus }) {
      const type = elementType(cdb);
      if ((cdb.readUInt8(5) & 0x1f) !== TRANSLATE_PRIMARY) throw invalidFieldInCdb(5, 4);
      const length = cdb.readUInt16BE(8);
      if (length !== PARAMETERS) throw invalidFieldInCdb(8);
      if (cmd.dataOut.length < PARAMETERS) throw parameterListLengthError();
      const minimumSequence = cmd.dataOut.readUInt16BE(34);
      const matches = templateMatcher(cmd.dataOut.subarray(0, 32).toString('latin1'));
      // Every cartridge has volume sequence number 0.
      changer.searches.set(nexus.key, { type, start: cdb.readUInt16BE(2), matches: minimumSequence === 0 ? matches : () => false });
    },
  };
}

function requestVolumeElementAddress(changer: Changer): CommandEntry {
  return {
    opcode: 0xb5,
    name: 'REQUEST VOLUME ELEMENT ADDRESS',
    usage: [0xb5, 0xe0 | VOLTAG | 0x0f, 0xff, 0xff, 0xff, 0xff, DVCID, 0xff, 0xff, 0xff, 0, CONTROL],
    access: Access.read,
    handler({ cdb, nexus }) {
      const type = elementType(cdb);
      const search = changer.searches.get(nexus.key);
      if (!search) throw scsiError(SenseKey.IllegalRequest, COMMAND_SEQUENCE_ERROR);
      const report = elementStatusReport(changer.library.elements(), {
        type,
        start: Math.max(search.start, cdb.readUInt16BE(2)),
        count: cdb.readUInt16BE(4),
        volumeTags: (cdb.readUInt8(1) & VOLTAG) !== 0,
        deviceIds: (cdb.readUInt8(6) & DVCID) !== 0,
        match: (e: ElementStatus) => (search.type === 0 || e.type === search.type) && e.barcode !== undefined && search.matches(e.barcode),
      });
      report.data[4] = TRANSLATE_PRIMARY;
      return cutToAllocation(report, cdb.readUIntBE(7, 3));
    },
  };
}

export function volumeTagCommands(changer: Changer): CommandEntry[] {
  return [sendVolumeTag(changer), requestVolumeElementAddress(changer)];
}
