// The tape drive's mode parameters (SSC-4 8.3): the header's WP, BUFFERED MODE
// and medium type, the block descriptor (density, block length: 0 = variable),
// and pages 0Fh, 10h, 10h/01h, 11h and IBM's vendor page 25h. Control (0Ah)
// and Informational Exceptions (1Ch) come from SPC.
import type { ModePage, ModeParameterHooks } from '../mode-pages.ts';
import { bitsOf, bytesOf, flag, PageLayout } from '../page-layout.ts';
import { invalidFieldInParameterList } from '../sense.ts';
import { knownDensity, mediumType, writableDensity } from './density.ts';
import type { TapeDrive } from './state.ts';

const WP = 0x80;
const NO_DENSITY_CHANGE = 0x7f;

function deviceSpecificParameter(drive: TapeDrive): number {
  const medium = drive.bay.medium;
  const wp = medium && (medium.writeProtected || !writableDensity(medium.densityCode)) ? WP : 0;
  return wp | (drive.bufferedMode << 4);
}

export function modeParameters(drive: TapeDrive): ModeParameterHooks {
  return {
    deviceSpecificParameter: () => deviceSpecificParameter(drive),
    mediumType: () => mediumType(drive.bay.medium),
    // A long LBA descriptor has no density code: tape has only the short one.
    blockDescriptors(long) {
      if (long) return [];
      const d = Buffer.alloc(8);
      d[0] = drive.bay.medium?.densityCode ?? 0;
      d.writeUIntBE(drive.blockLength, 5, 3);
      return [d];
    },
    select({ deviceSpecificParameter: dsp, blockDescriptors, long }, at) {
      const buffered = (dsp >> 4) & 0x07;
      if (buffered > 1) throw invalidFieldInParameterList(at.deviceSpecificParameter, 6);
      if (dsp & 0x0f) throw invalidFieldInParameterList(at.deviceSpecificParameter, 3); // SPEED: default only
      let blockLength = drive.blockLength;
      blockDescriptors.forEach((d, i) => {
        const offset = at.blockDescriptors + i * d.length;
        if (long) throw invalidFieldInParameterList(offset);
        if (d[0] !== 0 && d[0] !== NO_DENSITY_CHANGE && !knownDensity(d[0]!)) throw invalidFieldInParameterList(offset);
        if (d.readUIntBE(1, 3) !== 0) throw invalidFieldInParameterList(offset + 1);
        const length = d.readUIntBE(5, 3);
        if (length > drive.limits.maxBlockLength) throw invalidFieldInParameterList(offset + 5);
        blockLength = length;
      });
      const changed = buffered !== drive.bufferedMode || blockLength !== drive.blockLength;
      drive.bufferedMode = buffered;
      drive.blockLength = blockLength;
      return changed;
    },
  };
}

/** Data Compression (0Fh, SSC-4 8.3.2); offsets of the page body, after its 2-byte header. */
const dataCompressionFields = new PageLayout(14, {
  dataCompressionEnable: flag(0, 7),
  dataCompressionCapable: flag(0, 6),
  dataDecompressionEnable: flag(1, 7),
  compressionAlgorithm: bytesOf(2, 4),
  decompressionAlgorithm: bytesOf(6, 4),
});

/** COMPRESSION ALGORITHM values above this are reserved (SSC-4 8.3.2: 01h default, 02h-FFh registered or vendor specific). */
const LAST_COMPRESSION_ALGORITHM = 0xff;

/**
 * Compression on, algorithm 1 (the drive's default). DCE and the compression
 * algorithm are changeable: Windows' miniclass samples select theirs (10h,
 * 20h, 03h) with DCE. The records are kept as sent whichever is chosen, so any
 * algorithm that is not reserved is taken and reported back; decompression
 * stays enabled (DDE) whatever the initiator asks.
 */
const dataCompression: ModePage = {
  page: 0x0f,
  name: 'Data Compression',
  defaults: dataCompressionFields.encode({
    dataCompressionEnable: true,
    dataCompressionCapable: true,
    dataDecompressionEnable: true,
    compressionAlgorithm: 1,
    decompressionAlgorithm: 1,
  }),
  changeable: dataCompressionFields.mask('dataCompressionEnable', 'compressionAlgorithm'),
  select(value, offset) {
    if (dataCompressionFields.get(value, 'compressionAlgorithm') > LAST_COMPRESSION_ALGORITHM) {
      throw invalidFieldInParameterList(offset + dataCompressionFields.fields.compressionAlgorithm.byte);
    }
  },
};

/** Device Configuration (10h, SSC-4 8.3.3). */
const deviceConfigurationFields = new PageLayout(14, {
  writeDelayTime: bytesOf(4, 2),
  logicalObjectIdentifiersSupported: flag(6, 6),
  endOfDataGeneration: flag(8, 4),
  synchronizeAtEarlyWarning: flag(8, 3),
  selectDataCompressionAlgorithm: bytesOf(12),
  rewindOnReset: bitsOf(13, 4, 3),
});

/** REWIND ON RESET 10b: a logical unit reset keeps the position. */
const KEEP_POSITION_ON_RESET = 0b10;

/**
 * Logical object identifiers, end-of-data generated, sync at early warning,
 * write delay 0 (buffered data waits for a sync point), a reset keeps the
 * position; the compression algorithm may be selected.
 */
const deviceConfiguration: ModePage = {
  page: 0x10,
  name: 'Device Configuration',
  defaults: deviceConfigurationFields.encode({
    writeDelayTime: 0,
    logicalObjectIdentifiersSupported: true,
    endOfDataGeneration: true,
    synchronizeAtEarlyWarning: true,
    selectDataCompressionAlgorithm: 1,
    rewindOnReset: KEEP_POSITION_ON_RESET,
  }),
  changeable: deviceConfigurationFields.mask('selectDataCompressionAlgorithm'),
  select(value, offset) {
    if (deviceConfigurationFields.get(value, 'selectDataCompressionAlgorithm') > 1) {
      throw invalidFieldInParameterList(offset + deviceConfigurationFields.fields.selectDataCompressionAlgorithm.byte);
    }
  },
};

/** Device Configuration Extension (10h/01h, SSC-4 8.3.4); offsets after its 4-byte header. */
const deviceConfigurationExtensionFields = new PageLayout(28, {
  writeMode: bitsOf(1, 7, 4),
  shortEraseMode: bitsOf(1, 1, 0),
  programmableEarlyWarningSize: bytesOf(2, 2),
});

/** SHORT ERASE MODE 10b: an ERASE with LONG=0 writes end-of-data. */
const ERASE_WRITES_EOD = 0b10;

const WriteMode = { overwriteAllowed: 0, appendOnly: 1 } as const;

/**
 * Overwrite allowed (WRITE MODE 0) by default, append-only (1) when an
 * application asks for it, as IBM Spectrum Protect does at every mount
 * (SETAPPENDONLY) and LTFS when it mounts a volume. A short erase writes
 * end-of-data; no programmable early warning. Like the drive's other mode
 * parameters the write mode is not savable: a logical unit reset brings
 * overwrite-allowed back.
 */
function deviceConfigurationExtension(drive: TapeDrive): ModePage {
  return {
    page: 0x10,
    subpage: 0x01,
    name: 'Device Configuration Extension',
    defaults: deviceConfigurationExtensionFields.encode({
      writeMode: WriteMode.overwriteAllowed,
      shortEraseMode: ERASE_WRITES_EOD,
      programmableEarlyWarningSize: 0,
    }),
    changeable: deviceConfigurationExtensionFields.mask('writeMode'),
    select(value, offset) {
      const writeMode = deviceConfigurationExtensionFields.get(value, 'writeMode');
      if (writeMode > WriteMode.appendOnly)
        throw invalidFieldInParameterList(offset + deviceConfigurationExtensionFields.fields.writeMode.byte, 7);
      drive.appendOnly = writeMode === WriteMode.appendOnly;
    },
    current(stored) {
      deviceConfigurationExtensionFields.set(stored, 'writeMode', drive.appendOnly ? WriteMode.appendOnly : WriteMode.overwriteAllowed);
      return stored;
    },
  };
}

/** Medium Partition (11h, SSC-4 8.3.5), with the size of the one partition. */
const mediumPartitionFields = new PageLayout(8, {
  maximumAdditionalPartitions: bytesOf(0),
  additionalPartitionsDefined: bytesOf(1),
  partitionSizeUnitOfMeasure: bitsOf(2, 4, 3),
  mediumFormatRecognition: bytesOf(3),
  partitionUnits: bitsOf(4, 3, 0),
  partitionSize: bytesOf(6, 2),
});

/** PSUM 11b: sizes in units of 10^PARTITION UNITS bytes. */
const PSUM_POWERS_OF_TEN = 0b11;
/** MEDIUM FORMAT RECOGNITION 03h: the drive recognizes both format and partitions. */
const FORMAT_AND_PARTITION_RECOGNITION = 0x03;

/** One partition, its size in 10^PARTITION UNITS bytes. */
function mediumPartition(drive: TapeDrive): ModePage {
  return {
    page: 0x11,
    name: 'Medium Partition',
    defaults: mediumPartitionFields.encode({
      maximumAdditionalPartitions: 0,
      additionalPartitionsDefined: 0,
      partitionSizeUnitOfMeasure: PSUM_POWERS_OF_TEN,
      mediumFormatRecognition: FORMAT_AND_PARTITION_RECOGNITION,
    }),
    current(stored) {
      const medium = drive.bay.medium;
      if (!medium) return stored;
      const total = medium.capacity().totalBytes;
      let units = 0;
      while (Math.floor(total / 10 ** units) > 0xfffe) units++;
      mediumPartitionFields.set(stored, 'partitionUnits', units);
      mediumPartitionFields.set(stored, 'partitionSize', Math.floor(total / 10 ** units));
      return stored;
    },
  };
}

/** IBM LTO vendor page 25h (as mhvtl gives it to IBM's Windows driver, which wants it): 30 bytes. */
const ibmVendor25hFields = new PageLayout(30, {
  logicalEndOfPartition: bytesOf(3),
  earlyWarning: bytesOf(4),
});

/** LEOP (to use the medium's whole capacity) and early warning reporting on. */
const ibmVendor25h: ModePage = {
  page: 0x25,
  name: 'IBM Vendor Specific (25h)',
  defaults: ibmVendor25hFields.encode({ logicalEndOfPartition: 1, earlyWarning: 1 }),
};

export function tapeModePages(drive: TapeDrive): ModePage[] {
  return [dataCompression, deviceConfiguration, deviceConfigurationExtension(drive), mediumPartition(drive), ibmVendor25h];
}
