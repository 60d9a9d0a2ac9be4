// The base every device type uses: table dispatch, unit attentions,
// reservation conflicts, readiness, and errors turned into sense data.
import { Access, CommandTable, validateCdb, type CommandEntry, type CommandResult, type UnitServices } from './command-table.ts';
import type { DeviceIdentity } from './identity.ts';
import type { LogPage } from './log-pages.ts';
import { ModePages, type ModeParameterHooks, type ModePage } from './mode-pages.ts';
import { Reservations } from './reservations.ts';
import { Asc, buildSense, internalTargetFailure, ScsiError, unitAttention, type SenseFormat } from './sense.ts';
import { controlFields, controlModePage } from './spc/common-mode-pages.ts';
import { Status, type LogicalUnit, type Nexus, type ScsiCommand, type ScsiResponse, type TaskManagementFunction } from './types.ts';
import { UnitAttentions } from './unit-attention.ts';
import type { VpdPage } from './vpd-pages.ts';

/** Structured log callback for failures that are the target's fault. */
export type LogFn = (message: string, fields: Record<string, unknown>) => void;

export interface LogicalUnitOptions {
  readonly identity: DeviceIdentity;
  /** The device type's table: its own entries merged with spcCommands(). */
  readonly commands: readonly CommandEntry[];
  /** The device type's VPD pages, after the SPC ones (00h, 80h, 83h, 86h). */
  readonly vpdPages?: readonly VpdPage[];
  /** Mode pages: spcModePages() and the device type's own. */
  readonly modePages?: readonly ModePage[];
  readonly modeParameters?: ModeParameterHooks;
  readonly logPages?: readonly LogPage[];
  /** Throws a ScsiError (e.g. mediumNotPresent()) when the unit cannot do media access. */
  readonly checkReady?: () => void;
  /** Device state a reset or nexus loss clears (e.g. PREVENT ALLOW MEDIUM REMOVAL), after the core's own. */
  readonly taskManagement?: (fn: TaskManagementFunction, nexus: Nexus) => void;
  readonly log?: LogFn;
}

function toResponse(result: CommandResult): ScsiResponse {
  if (result === undefined) return { status: Status.Good };
  if (Buffer.isBuffer(result)) return { status: Status.Good, data: result };
  return result;
}

function padded(cdb: Buffer, length: number): Buffer {
  if (cdb.length >= length) return cdb;
  const b = Buffer.alloc(length);
  cdb.copy(b);
  return b;
}

export class ScsiLogicalUnit implements LogicalUnit, UnitServices {
  readonly identity: DeviceIdentity;
  readonly table: CommandTable;
  readonly vpdPages: readonly VpdPage[];
  readonly modePages: ModePages;
  readonly modeParameters: ModeParameterHooks;
  readonly logPages: readonly LogPage[];
  readonly unitAttentions = new UnitAttentions();
  readonly reservations = new Reservations();
  /** LUNs of the target this unit belongs to (REPORT LUNS); the ScsiTarget sets it. */
  reportedLuns: () => readonly number[] = () => [0];
  private readonly readiness: (() => void) | undefined;
  private readonly deviceTaskManagement: ((fn: TaskManagementFunction, nexus: Nexus) => void) | undefined;
  private readonly log: LogFn;

  constructor(options: LogicalUnitOptions) {
    this.identity = options.identity;
    this.table = new CommandTable(options.commands);
    this.vpdPages = options.vpdPages ?? [];
    this.modePages = new ModePages(options.modePages ?? []);
    this.modeParameters = options.modeParameters ?? {};
    this.logPages = options.logPages ?? [];
    this.readiness = options.checkReady;
    this.deviceTaskManagement = options.taskManagement;
    this.log = options.log ?? (() => {});
  }

  /** Never rejects: every failure is answered as a status. */
  execute(cmd: ScsiCommand): Promise<ScsiResponse> {
    const nexus = cmd.nexus;
    this.unitAttentions.observe(nexus.key);
    let result: CommandResult | Promise<CommandResult>;
    try {
      const entry = this.table.resolve(cmd.cdb);
      if (entry instanceof Error || !entry.ignoresUnitAttention) {
        const ua = this.unitAttentions.take(nexus.key);
        if (ua !== undefined) throw unitAttention(ua);
      }
      if (entry instanceof Error) throw entry;
      const cdb = padded(cmd.cdb, entry.usage.length);
      validateCdb(entry, cdb);
      if (this.reservations.conflicts(nexus.key, entry.access ?? Access.write))
        return Promise.resolve({ status: Status.ReservationConflict });
      if (entry.requiresReady) this.checkReady();
      result = entry.handler({ cmd, cdb, nexus, lu: this });
    } catch (err) {
      return Promise.resolve(this.checkCondition(err, cmd));
    }
    // One promise per command whether the handler is synchronous or not.
    if (!(result instanceof Promise)) return Promise.resolve(toResponse(result));
    return result.then(toResponse, (err: unknown) => this.checkCondition(err, cmd));
  }

  /** CHECK CONDITION for a ScsiError; anything else is our bug: logged, and answered HARDWARE ERROR. */
  private checkCondition(err: unknown, cmd: ScsiCommand): ScsiResponse {
    let sense: ScsiError;
    if (err instanceof ScsiError) sense = err;
    else {
      this.log('SCSI command failed', {
        err,
        cdb: cmd.cdb.toString('hex'),
        nexus: cmd.nexus.key,
        tag: cmd.tag,
        device: this.identity.name,
      });
      sense = internalTargetFailure();
    }
    return { status: Status.CheckCondition, sense: buildSense(sense.sense, this.senseFormat()) };
  }

  /** The format the Control mode page's D_SENSE bit selects. */
  senseFormat(): SenseFormat {
    const control = this.modePages.find(controlModePage.page);
    return control && controlFields.get(this.modePages.value(control, 'current'), 'descriptorSense') ? 'descriptor' : 'fixed';
  }

  checkReady(): void {
    this.readiness?.();
  }

  nexusAdded(nexus: Nexus): void {
    this.unitAttentions.forget(nexus.key);
    this.unitAttentions.observe(nexus.key);
  }

  taskManagement(fn: TaskManagementFunction, nexus: Nexus): void {
    switch (fn) {
      case 'lun-reset':
      case 'target-reset':
        // Every I_T nexus learns of the reset (SAM-5 6.3), with the generic 29/00 that tgt
        // reports and initiators (libiscsi's suite among them) retry on; RESERVE(6) is
        // released, PR survives.
        this.reservations.classicHolder = undefined;
        this.modePages.reset();
        this.unitAttentions.establishAll(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
        break;
      case 'i-t-nexus-loss':
        if (this.reservations.classicHolder === nexus.key) this.reservations.classicHolder = undefined;
        this.unitAttentions.forget(nexus.key);
        break;
      case 'abort-task-set':
      case 'clear-task-set':
      case 'clear-aca':
        // The core keeps no task set: aborting commands in flight is the transport's job.
        break;
    }
    this.deviceTaskManagement?.(fn, nexus);
  }
}
