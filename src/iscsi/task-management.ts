// Task management requests of a session (RFC 7143 section 11.5, SAM-5 7):
// ABORT TASK, ABORT TASK SET, CLEAR TASK SET, CLEAR ACA, LOGICAL UNIT RESET,
// TARGET WARM and COLD RESET. The tasks they reach are aborted without a
// response; the logical units then hear of the function.
import type { Logger } from 'pino';
import type { Nexus, ScsiTargetPort, TaskManagementFunction } from '../../scsi/types.ts';
import type { CommandWindow } from './command-window.ts';
import type { Task } from './command-flow.ts';
import { encodeTaskManagementResponse, PduError, RejectReason, TaskFunction, TaskResponse, type TaskManagementPdu } from './pdu.ts';
import type { SessionConnection } from './session-connection.ts';

/** A session of the same target, as a reset that reaches all of them sees it. */
export interface TargetSession {
  abortTasks(filter: (task: Task) => boolean): Promise<void>;
  close(reason: string): void;
}

export interface TaskManagementOptions {
  readonly nexus: Nexus;
  /** Absent in a discovery session, which takes no task management. */
  readonly scsi: ScsiTargetPort | undefined;
  readonly window: CommandWindow;
  readonly connection: SessionConnection;
  readonly logger: Logger;
  /** The running task of this session with that Initiator Task Tag. */
  readonly task: (itt: number) => Task | undefined;
  /** This session. */
  readonly session: TargetSession;
  /** Every session of the target, this one included. */
  readonly targetSessions: () => readonly TargetSession[];
  /** Whether the session has ended, so that no response goes out any more. */
  readonly closed: () => boolean;
}

export class TaskManagement {
  constructor(private readonly o: TaskManagementOptions) {}

  receive(pdu: TaskManagementPdu): void {
    if (!this.o.scsi) throw new PduError(RejectReason.ProtocolError, 'task management in a discovery session');
    const { window, connection } = this.o;
    window.admit(pdu.cmdSN, pdu.immediate, () => {
      void this.perform(pdu)
        .then((response) => {
          if (!this.o.closed()) connection.send((seq) => encodeTaskManagementResponse(pdu.itt, response, seq), undefined, true);
          if (!pdu.immediate) window.completed();
          if (pdu.function === TaskFunction.TargetColdReset && response === TaskResponse.FunctionComplete) {
            for (const session of this.o.targetSessions()) session.close('target cold reset');
          }
        })
        .catch((error: unknown) => {
          this.o.logger.error({ err: error, function: pdu.function }, 'task management failed inside the target');
          this.o.session.close('task management failure');
        });
    });
  }

  private async perform(pdu: TaskManagementPdu): Promise<TaskResponse> {
    const scsi = this.o.scsi!;
    const sameLun = (task: Task): boolean => task.pdu.lun.equals(pdu.lun);
    const run = async (
      sessions: readonly TargetSession[],
      filter: (task: Task) => boolean,
      fn?: TaskManagementFunction,
    ): Promise<TaskResponse> => {
      await Promise.all(sessions.map((session) => session.abortTasks(filter)));
      if (fn) scsi.taskManagement(fn, this.o.nexus, pdu.lun);
      return TaskResponse.FunctionComplete;
    };
    const everySession = this.o.targetSessions();
    switch (pdu.function) {
      case TaskFunction.AbortTask: {
        const task = this.o.task(pdu.referencedTaskTag);
        if (task && task.itt !== pdu.itt) {
          await this.o.session.abortTasks((t) => t === task);
          return TaskResponse.FunctionComplete;
        }
        return this.o.window.notYetReceived(pdu.refCmdSN) && pdu.refCmdSN !== pdu.cmdSN
          ? TaskResponse.FunctionComplete
          : TaskResponse.TaskDoesNotExist;
      }
      case TaskFunction.AbortTaskSet:
        return run([this.o.session], sameLun, 'abort-task-set');
      case TaskFunction.ClearTaskSet:
        return run(everySession, sameLun, 'clear-task-set');
      case TaskFunction.ClearAca:
        scsi.taskManagement('clear-aca', this.o.nexus, pdu.lun);
        return TaskResponse.FunctionComplete;
      case TaskFunction.LogicalUnitReset:
        return run(everySession, sameLun, 'lun-reset');
      case TaskFunction.TargetWarmReset:
      case TaskFunction.TargetColdReset:
        return run(everySession, () => true, 'target-reset');
      case TaskFunction.TaskReassign:
        return TaskResponse.ReassignmentNotSupported;
      default:
        return TaskResponse.Rejected;
    }
  }
}
