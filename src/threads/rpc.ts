// Calls between two threads over a MessagePort (or a Worker and its
// parentPort): a request names an operation and gets one reply, a notice gets
// none. Errors cross as their name, message and own fields, and the receiving
// side turns the names it knows back into their classes, so that `instanceof`
// keeps working on either side. Buffers cross by transfer when the caller
// lists them, else by copy.
import type { Transferable } from 'node:worker_threads';

/** What a MessagePort and a Worker (or parentPort) have in common. */
export interface Channel {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** An error as it crosses: enough to make it again. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** Makes a known error again from its wire form; undefined for one it does not know (it becomes a plain Error). */
export type ErrorReviver = (wire: WireError) => Error | undefined;

/** A handler's result with memory to transfer rather than copy. */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly transfer: readonly ArrayBuffer[],
  ) {}
}

type Handler = (args: never) => unknown;
type Message =
  | { readonly rpc: 'call'; readonly id: number; readonly op: string; readonly args: unknown }
  | { readonly rpc: 'notice'; readonly op: string; readonly args: unknown }
  | { readonly rpc: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: WireError };

export class Rpc {
  private readonly handlers = new Map<string, Handler>();
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private stopped: Error | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly revive: ErrorReviver = () => undefined,
  ) {
    channel.on('message', (message) => this.received(message as Message));
  }

  /** Answers requests (and notices) named `op` with `handler`'s result, awaited. */
  handle<A, R>(op: string, handler: (args: A) => R | Promise<R>): void {
    if (this.handlers.has(op)) throw new Error(`${op} is handled already`);
    this.handlers.set(op, handler);
  }

  call<R>(op: string, args?: unknown, transfer?: readonly ArrayBuffer[]): Promise<R> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.channel.postMessage({ rpc: 'call', id, op, args } satisfies Message, transfer);
    });
  }

  notify(op: string, args?: unknown): void {
    if (!this.stopped) this.channel.postMessage({ rpc: 'notice', op, args } satisfies Message);
  }

  /** The other side is gone: calls waiting and to come fail with `reason`. */
  stop(reason: Error): void {
    this.stopped ??= reason;
    for (const { reject } of this.pending.values()) reject(reason);
    this.pending.clear();
  }

  private received(message: Message): void {
    if (message.rpc === 'reply') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error)
        waiting.reject(this.revive(message.error) ?? Object.assign(new Error(message.error.message), { name: message.error.name }));
      else waiting.resolve(message.value);
      return;
    }
    const handler = this.handlers.get(message.op);
    if (message.rpc === 'notice') {
      if (handler) void Promise.resolve().then(() => handler(message.args as never));
      return;
    }
    const { id } = message;
    const reply = (value: unknown): void => {
      if (value instanceof Transfer) this.channel.postMessage({ rpc: 'reply', id, value: value.value } satisfies Message, value.transfer);
      else this.channel.postMessage({ rpc: 'reply', id, value } satisfies Message);
    };
    const fail = (error: unknown): void => this.channel.postMessage({ rpc: 'reply', id, error: wireError(error) } satisfies Message);
    if (!handler) return fail(new Error(`no handler for ${message.op}`));
    try {
      Promise.resolve(handler(message.args as never)).then(reply, fail);
    } catch (error) {
      fail(error);
    }
  }
}

function wireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(error)) {
    if (name !== 'cause' && typeof value !== 'function') fields[name] = value;
  }
  // A class that does not set its name is known by its constructor's.
  const name = error.name === 'Error' ? error.constructor.name : error.name;
  return { name, message: error.message, fields };
}
