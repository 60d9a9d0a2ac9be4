// The medium changer (SMC-3) command set over a MediaLibrary. Byte 1 bits 7-5
// of these CDBs are the SCSI-2 LUN field, which Linux's ch driver still fills
// in (with the LUN): they are accepted and ignored.
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { Asc, invalidFieldInCdb, scsiError, SenseKey, type ScsiError } from '../sense.ts';
import { cutToAllocation, elementStatusReport } from './element-status.ts';
import { ElementType, MoveMediumError, type ElementLayout, type ElementRange } from './media-library.ts';
import type { Changer } from './state.ts';
import { volumeTagCommands } from './volume-tags.ts';

const LUN_BITS = 0xe0;
const VOLTAG = 0x10;
const CURDATA = 0x02;
const DVCID = 0x01;
const RANGE = 0x01;
const FAST = 0x02;

const MOVE_TIMEOUTS = { nominal: 10, recommended: 600 };

/** CDB byte of each address a move names, for the field pointer. */
const FIELD = { transport: 2, source: 4, destination: 6 } as const;

const inRange = (r: ElementRange, address: number): boolean => address >= r.first && address < r.first + r.count;

function isElement(layout: ElementLayout, address: number): boolean {
  return [layout.transport, layout.storage, layout.importExport, layout.dataTransfer].some((r) => inRange(r, address));
}

const invalidElement = (byte: number): ScsiError =>
  scsiError(SenseKey.IllegalRequest, Asc.INVALID_ELEMENT_ADDRESS, { fieldPointer: { in: 'cdb', byte } });

/** TRANSPORT ELEMENT ADDRESS 0 selects the default transport; any other value must name one. */
function checkTransport(layout: ElementLayout, address: number): void {
  if (address !== 0 && !inRange(layout.transport, address)) throw invalidElement(FIELD.transport);
}

function moveSense(err: MoveMediumError): ScsiError {
  const fieldPointer = { in: 'cdb' as const, byte: FIELD[err.element] };
  switch (err.reason) {
    case 'invalid-element':
      return scsiError(SenseKey.IllegalRequest, Asc.INVALID_ELEMENT_ADDRESS, { fieldPointer });
    case 'source-empty':
      return scsiError(SenseKey.IllegalRequest, Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, { fieldPointer });
    case 'destination-full':
      return scsiError(SenseKey.IllegalRequest, Asc.MEDIUM_DESTINATION_ELEMENT_FULL, { fieldPointer });
    case 'removal-prevented':
      return scsiError(SenseKey.IllegalRequest, Asc.MEDIUM_REMOVAL_PREVENTED, { fieldPointer });
    case 'load-failed':
      return scsiError(SenseKey.MediumError, Asc.MEDIUM_LOAD_OR_EJECT_FAILED);
  }
}

function readElementStatus(changer: Changer): CommandEntry {
  return {
    opcode: 0xb8,
    name: 'READ ELEMENT STATUS',
    usage: [0xb8, LUN_BITS | VOLTAG | 0x0f, 0xff, 0xff, 0xff, 0xff, CURDATA | DVCID, 0xff, 0xff, 0xff, 0, CONTROL],
    access: Access.read,
    handler({ cdb }) {
      const type = cdb.readUInt8(1) & 0x0f;
      if (type > ElementType.DataTransfer) throw invalidFieldInCdb(1, 3);
      // CURDATA asks for status without motion: there is never any motion to skip.
      const report = elementStatusReport(changer.library.elements(), {
        type,
        start: cdb.readUInt16BE(2),
        count: cdb.readUInt16BE(4),
        volumeTags: (cdb.readUInt8(1) & VOLTAG) !== 0,
        deviceIds: (cdb.readUInt8(6) & DVCID) !== 0,
      });
      return cutToAllocation(report, cdb.readUIntBE(7, 3));
    },
  };
}

function moveMedium(changer: Changer): CommandEntry {
  return {
    opcode: 0xa5,
    name: 'MOVE MEDIUM',
    // INVERT (byte 10 bit 0) is left out: the transport cannot rotate media.
    usage: [0xa5, LUN_BITS, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, CONTROL],
    timeouts: MOVE_TIMEOUTS,
    async handler({ cdb }) {
      const layout = changer.library.layout();
      checkTransport(layout, cdb.readUInt16BE(2));
      const source = cdb.readUInt16BE(4);
      const destination = cdb.readUInt16BE(6);
      // As Quantum's libraries do: a prevention keeps cartridges from leaving through the mail slots.
      if (changer.preventing.size > 0 && inRange(layout.importExport, destination) && !inRange(layout.importExport, source)) {
        throw scsiError(SenseKey.IllegalRequest, Asc.MEDIUM_REMOVAL_PREVENTED, { fieldPointer: { in: 'cdb', byte: FIELD.destination } });
      }
      try {
        await changer.library.moveMedium(source, destination);
      } catch (err) {
        throw err instanceof MoveMediumError ? moveSense(err) : err;
      }
    },
  };
}

function initializeElementStatus(changer: Changer): CommandEntry {
  return {
    opcode: 0x07,
    name: 'INITIALIZE ELEMENT STATUS',
    usage: [0x07, LUN_BITS, 0, 0, 0, CONTROL],
    timeouts: MOVE_TIMEOUTS,
    handler: () => changer.library.initializeElementStatus(),
  };
}

function initializeElementStatusWithRange(changer: Changer): CommandEntry {
  return {
    opcode: 0x37,
    name: 'INITIALIZE ELEMENT STATUS WITH RANGE',
    usage: [0x37, LUN_BITS | FAST | RANGE, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, CONTROL],
    timeouts: MOVE_TIMEOUTS,
    handler({ cdb }) {
      // FAST (scan only where status is unknown) changes nothing: status is always known.
      if (!(cdb.readUInt8(1) & RANGE)) return changer.library.initializeElementStatus();
      return changer.library.initializeElementStatus({ first: cdb.readUInt16BE(2), count: cdb.readUInt16BE(6) });
    },
  };
}

function positionToElement(changer: Changer): CommandEntry {
  return {
    opcode: 0x2b,
    name: 'POSITION TO ELEMENT',
    usage: [0x2b, LUN_BITS, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, CONTROL],
    handler({ cdb }) {
      const layout = changer.library.layout();
      checkTransport(layout, cdb.readUInt16BE(2));
      if (!isElement(layout, cdb.readUInt16BE(4))) throw invalidElement(4);
      // Nothing to position: a virtual transport is in front of every element at once.
    },
  };
}

function preventAllowMediumRemoval(changer: Changer): CommandEntry {
  return {
    opcode: 0x1e,
    name: 'PREVENT ALLOW MEDIUM REMOVAL',
    usage: [0x1e, LUN_BITS, 0, 0, 0x03, CONTROL],
    handler({ cdb, nexus }) {
      const prevent = cdb.readUInt8(4) & 0x03;
      if (prevent > 1) throw invalidFieldInCdb(4, 1);
      if (prevent) changer.preventing.add(nexus.key);
      else changer.preventing.delete(nexus.key);
    },
  };
}

/**
 * READ ELEMENT STATUS, MOVE MEDIUM, INITIALIZE ELEMENT STATUS (and WITH RANGE), POSITION TO ELEMENT,
 * PREVENT ALLOW MEDIUM REMOVAL, SEND VOLUME TAG and REQUEST VOLUME ELEMENT ADDRESS.
 */
export function changerCommands(changer: Changer): CommandEntry[] {
  return [
    readElementStatus(changer),
    moveMedium(changer),
    initializeElementStatus(changer),
    initializeElementStatusWithRange(changer),
    positionToElement(changer),
    preventAllowMediumRemoval(changer),
    ...volumeTagCommands(changer),
  ];
}
