// Gates a guest script waits at until the host has done its part (e.g. restarted
// the server the guest uses), so that one boot serves work on both sides of it.
// The host listens on a forwarded port; the guest asks about a gate by name and
// hears "open", "shut" or "abort" (the host gave up: the guest's step fails).
//
//   const gates = await startGuestGates();
//   runGuest(image, { forwardPorts: [gates.port, ...], script: `${gates.shell}\nstep s 'guest_wait_gate restarted 120'` });
//   gates.open('restarted');   // or gates.abort() when the host's part failed
//   gates.close();
import { createServer, type Server } from 'node:net';
import { GUEST_HOST } from './guest.ts';

export interface GuestGates {
  readonly port: number;
  /** Shell defining `guest_wait_gate NAME SECONDS`, to put at the top of the guest's script. */
  readonly shell: string;
  open(name: string): void;
  /** Every gate answers "abort" from now on. */
  abort(): void;
  close(): Promise<void>;
}

export async function startGuestGates(): Promise<GuestGates> {
  const opened = new Set<string>();
  let aborted = false;
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    let asked = '';
    socket.on('data', (chunk: string) => {
      asked += chunk;
      const end = asked.indexOf('\n');
      if (end < 0) return;
      const name = asked.slice(0, end).trim();
      socket.end(`${aborted ? 'abort' : opened.has(name) ? 'open' : 'shut'}\n`);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  // busybox nc ends when the host closes the connection; "shut" and a refused connection both mean: not yet.
  const shell = `
guest_wait_gate() {
  _gate_tries=$2
  while :; do
    _gate_answer=$(echo "$1" | nc ${GUEST_HOST} ${port} 2>/dev/null || true)
    [ "$_gate_answer" = open ] && return 0
    [ "$_gate_answer" = abort ] && { echo "the host gave up before gate $1 opened"; return 1; }
    _gate_tries=$((_gate_tries - 1))
    [ "$_gate_tries" -gt 0 ] || { echo "gate $1 did not open within $2 s"; return 1; }
    sleep 1
  done
}`;
  return {
    port,
    shell,
    open: (name) => void opened.add(name),
    abort: () => void (aborted = true),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
