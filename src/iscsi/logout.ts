// Logout Request (RFC 7143 section 11.14): the session's tasks are aborted,
// the response carries Time2Wait and Time2Retain, and the connection closes
// after it. With one connection per session and ErrorRecoveryLevel 0 there is
// no connection to remove for recovery, nor another to close.
import type { CommandWindow } from './command-window.ts';
import { encodeLogoutResponse, LogoutReason, type LogoutRequestPdu } from './pdu.ts';
import type { SessionConnection } from './session-connection.ts';

const CLOSED = 0;
const CID_NOT_FOUND = 1;
const RECOVERY_NOT_SUPPORTED = 2;

export interface LogoutOptions {
  /** The connection's CID, from its login. */
  readonly cid: number;
  readonly defaultTime2Wait: number;
  readonly defaultTime2Retain: number;
  readonly window: CommandWindow;
  readonly connection: SessionConnection;
  /** Aborts every task of the session. */
  readonly abortAll: () => void;
}

export function receiveLogout(pdu: LogoutRequestPdu, o: LogoutOptions): void {
  o.window.admit(pdu.cmdSN, pdu.immediate, () => {
    let response = CLOSED;
    if (pdu.reason === LogoutReason.RemoveConnectionForRecovery) response = RECOVERY_NOT_SUPPORTED;
    else if (pdu.reason === LogoutReason.CloseConnection && pdu.cid !== o.cid) response = CID_NOT_FOUND;
    o.abortAll();
    o.connection.send((seq) => encodeLogoutResponse(pdu.itt, response, seq, o.defaultTime2Wait, o.defaultTime2Retain), undefined, true);
    if (!pdu.immediate) o.window.completed();
    if (response === CLOSED) o.connection.close('logout');
  });
}
