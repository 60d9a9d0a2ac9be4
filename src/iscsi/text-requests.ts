// Text requests of a session (RFC 7143 sections 11.10, 11.11): SendTargets,
// in a discovery session for every target the initiator may see and in a
// normal session for its own; other keys are NotUnderstood. An answer longer
// than the initiator's MaxRecvDataSegmentLength goes out in pieces it asks for
// with the Target Transfer Tag.
import type { CommandWindow } from './command-window.ts';
import { encodeTextResponse, PduError, RejectReason, RESERVED_TAG, type TextRequestPdu } from './pdu.ts';
import type { SessionConnection } from './session-connection.ts';
import type { IscsiTargetDefinition } from './target-definition.ts';
import { decodeTextData, encodeTextData, type KeyValue } from './text.ts';

export interface TextRequestsOptions {
  readonly initiatorName: string;
  /** The session's target; absent in a discovery session. */
  readonly target: IscsiTargetDefinition | undefined;
  /** Every target the gateway serves. */
  readonly targets: () => readonly IscsiTargetDefinition[];
  readonly maxRecvDataSegmentLength: number;
  readonly window: CommandWindow;
  readonly connection: SessionConnection;
  readonly allocateTtt: () => number;
}

interface TextContinuation {
  readonly ttt: number;
  remaining: Buffer;
}

export class TextRequests {
  private continuation: TextContinuation | undefined;

  constructor(private readonly o: TextRequestsOptions) {}

  receive(pdu: TextRequestPdu): void {
    this.o.window.admit(pdu.cmdSN, pdu.immediate, () => {
      this.answer(pdu);
      if (!pdu.immediate) this.o.window.completed();
    });
  }

  private answer(pdu: TextRequestPdu): void {
    if (pdu.continue) throw new PduError(RejectReason.ProtocolError, 'multi-PDU text requests are not supported');
    let response: Buffer;
    let ttt: number;
    if (pdu.ttt !== RESERVED_TAG && this.continuation?.ttt === pdu.ttt) {
      response = this.continuation.remaining;
      ttt = pdu.ttt;
    } else {
      response = encodeTextData(this.answers(decodeTextData(pdu.data)));
      ttt = this.o.allocateTtt();
    }
    const limit = this.o.maxRecvDataSegmentLength;
    const more = response.length > limit;
    const chunk = response.subarray(0, more ? limit : response.length);
    this.continuation = more ? { ttt, remaining: response.subarray(limit) } : undefined;
    this.o.connection.send(
      (seq) =>
        encodeTextResponse(
          { final: !more, continue: more, lun: pdu.lun, itt: pdu.itt, ttt: more ? ttt : RESERVED_TAG, dataLength: chunk.length },
          seq,
        ),
      chunk,
      true,
    );
  }

  private answers(pairs: readonly KeyValue[]): KeyValue[] {
    const answers: KeyValue[] = [];
    for (const { key, value } of pairs) {
      if (key === 'SendTargets') answers.push(...this.sendTargets(value));
      else answers.push({ key, value: 'NotUnderstood' });
    }
    return answers;
  }

  private sendTargets(value: string): KeyValue[] {
    const { target, initiatorName } = this.o;
    const visible = this.o
      .targets()
      .filter((t) => !t.allowedInitiators || t.allowedInitiators.includes(initiatorName))
      .filter((t) => (value === 'All' && !target) || t.name === value || (value === '' && t.name === target?.name));
    const host = this.o.connection.portal.replace(/,\d+$/, '');
    return visible.flatMap((t) => [
      { key: 'TargetName', value: t.name },
      { key: 'TargetAddress', value: `${host},${t.portalGroupTag ?? 1}` },
    ]);
  }
}
