// The port mapper, program 100000 version 2 (RFC 1833 section 3): tells
// clients on which port the gateway serves MOUNT and NFS. SET and UNSET are
// accepted from this machine only; CALLIT (indirect calls, a UDP amplifier) is
// not served.
import type { RpcProcedure, RpcProgram } from './server.ts';
import { XdrWriter, type XdrReader } from './xdr.ts';

export const PMAP_PROGRAM = 100000;
export const PMAP_VERSION = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const PmapProc = { Null: 0, Set: 1, Unset: 2, GetPort: 3, Dump: 4 } as const;

export interface Mapping {
  readonly program: number;
  readonly version: number;
  readonly protocol: number;
  readonly port: number;
}

export function readMapping(reader: XdrReader): Mapping {
  return { program: reader.uint32(), version: reader.uint32(), protocol: reader.uint32(), port: reader.uint32() };
}

export function writeMapping(writer: XdrWriter, mapping: Mapping): XdrWriter {
  return writer.uint32(mapping.program).uint32(mapping.version).uint32(mapping.protocol).uint32(mapping.port);
}

export class PortMappings {
  private readonly mappings = new Map<string, Mapping>();

  private static key(m: Pick<Mapping, 'program' | 'version' | 'protocol'>): string {
    return `${m.program}/${m.version}/${m.protocol}`;
  }

  /** False when the program, version and protocol are already mapped (RFC 1833: SET does not replace). */
  set(mapping: Mapping): boolean {
    const key = PortMappings.key(mapping);
    if (this.mappings.has(key)) return false;
    this.mappings.set(key, mapping);
    return true;
  }

  /** Removes every protocol's mapping of the program and version. */
  unset(program: number, version: number): boolean {
    let removed = false;
    for (const [key, mapping] of this.mappings) {
      if (mapping.program === program && mapping.version === version) removed = this.mappings.delete(key) || removed;
    }
    return removed;
  }

  /** The port, or 0 when that program version is not registered on that protocol. */
  port(program: number, version: number, protocol: number): number {
    return this.mappings.get(PortMappings.key({ program, version, protocol }))?.port ?? 0;
  }

  all(): Mapping[] {
    return [...this.mappings.values()];
  }
}

function isLocal(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address.startsWith('127.');
}

export function portmapProgram(mappings: PortMappings): RpcProgram {
  const empty = () => new XdrWriter(0);
  return {
    program: PMAP_PROGRAM,
    version: PMAP_VERSION,
    name: 'portmap',
    procedures: new Map<number, RpcProcedure>([
      [PmapProc.Null, { name: 'NULL', handler: empty }],
      [
        PmapProc.Set,
        {
          name: 'SET',
          handler: (args, context) => {
            const mapping = readMapping(args);
            return new XdrWriter().bool(isLocal(context.remoteAddress) && mappings.set(mapping));
          },
        },
      ],
      [
        PmapProc.Unset,
        {
          name: 'UNSET',
          handler: (args, context) => {
            const mapping = readMapping(args);
            return new XdrWriter().bool(isLocal(context.remoteAddress) && mappings.unset(mapping.program, mapping.version));
          },
        },
      ],
      [
        PmapProc.GetPort,
        {
          name: 'GETPORT',
          handler: (args) => {
            const m = readMapping(args);
            return new XdrWriter().uint32(mappings.port(m.program, m.version, m.protocol));
          },
        },
      ],
      [
        PmapProc.Dump,
        {
          name: 'DUMP',
          handler: () => {
            const writer = new XdrWriter();
            for (const mapping of mappings.all()) writeMapping(writer.bool(true), mapping);
            return writer.bool(false);
          },
        },
      ],
    ]),
  };
}
