import assert from 'node:assert/strict';
import { InlineWriteGate } from '../../src/fileio/inline-write-gate.ts';

// A write that sleeps in the kernel (throttled because the machine holds too
// many dirty pages) cannot be produced on demand here, so this stand-in for the
// kernel's count of the thread's sleeps, with a clock, is told when a write
// "slept" and for how long (5 ms unless said).
function gateWithClock(): { gate: InlineWriteGate; clock: { ms: number }; sleep: (ms?: number) => void } {
  const clock = { ms: 0 };
  let sleeps = 0;
  const gate = new InlineWriteGate(
    undefined,
    () => clock.ms,
    () => sleeps,
  );
  return {
    gate,
    clock,
    sleep: (ms = 5) => {
      sleeps++;
      clock.ms += ms;
    },
  };
}

describe('InlineWriteGate', () => {
  it('runs writes while none sleeps', () => {
    const { gate, clock } = gateWithClock();
    let runs = 0;
    for (let i = 0; i < 5; i++, clock.ms += 1)
      assert.equal(
        gate.tryWrite(() => runs++),
        true,
      );
    assert.equal(runs, 5);
  });

  it('lets a write that slept only briefly pass without shutting', () => {
    const { gate, sleep } = gateWithClock();
    assert.equal(
      gate.tryWrite(() => sleep(0.2)),
      true,
    );
    assert.equal(
      gate.tryWrite(() => {}),
      true,
    );
  });

  it('shuts for a second after a write that slept a millisecond or more, and a write after it that does not sleep resets the pause', () => {
    const { gate, clock, sleep } = gateWithClock();
    /** How long the gate stays shut from now, found by trying every 100 ms; `reopen` is the write that gets through. */
    const shutFor = (reopen: () => void): number => {
      const from = clock.ms;
      let at = from;
      while (!gate.tryWrite(reopen)) at = clock.ms += 100;
      return at - from;
    };
    assert.equal(
      gate.tryWrite(() => sleep()),
      true,
      'the write that sleeps still runs',
    );
    assert.equal(
      gate.tryWrite(() => assert.fail('ran while shut')),
      false,
    );
    assert.equal(
      shutFor(() => sleep()),
      1000,
    );
    assert.equal(
      shutFor(() => {}),
      2000,
      'the write that reopened it slept too',
    );
    gate.tryWrite(() => sleep());
    assert.equal(
      shutFor(() => {}),
      1000,
      'the write that reopened it last time did not sleep',
    );
  });

  it('keeps doubling up to 32 seconds while the writes that reopen it keep sleeping', () => {
    const { gate, clock, sleep } = gateWithClock();
    const pauses: number[] = [];
    gate.tryWrite(() => sleep());
    for (let i = 0; i < 7; i++) {
      const from = clock.ms;
      let at = from;
      while (!gate.tryWrite(() => sleep())) at = clock.ms += 500;
      pauses.push(at - from);
    }
    assert.deepEqual(pauses, [1000, 2000, 4000, 8000, 16000, 32000, 32000]);
  });

  it('passes on an error the write throws, and counts a write that failed after sleeping as one that slept', () => {
    const { gate, clock, sleep } = gateWithClock();
    assert.throws(
      () =>
        gate.tryWrite(() => {
          sleep();
          throw new Error('EIO');
        }),
      /EIO/,
    );
    assert.equal(
      gate.tryWrite(() => {}),
      false,
    );
    clock.ms += 1000;
    assert.equal(
      gate.tryWrite(() => {}),
      true,
    );
  });

  it('stays shut where the system cannot say whether a thread slept', () => {
    const gate = new InlineWriteGate(
      undefined,
      () => 0,
      () => -1,
    );
    assert.equal(
      gate.tryWrite(() => assert.fail('ran')),
      false,
    );
  });

  it("shuts every gate made over the same memory when a write through one of them stalls, as a worker thread's gate would be", () => {
    const clock = { ms: 0 };
    let mainSleeps = 0;
    let workerSleeps = 0;
    const main = new InlineWriteGate(
      undefined,
      () => clock.ms,
      () => mainSleeps,
    );
    const worker = new InlineWriteGate(
      main.memory,
      () => clock.ms,
      () => workerSleeps,
    );
    assert.equal(
      main.tryWrite(() => {}),
      true,
    );
    worker.tryWrite(() => {
      workerSleeps++;
      clock.ms += 5;
    });
    assert.equal(
      main.tryWrite(() => assert.fail('ran while the other gate is shut')),
      false,
    );
    clock.ms += 1000;
    assert.equal(
      main.tryWrite(() => {
        mainSleeps++;
        clock.ms += 5;
      }),
      true,
    );
    clock.ms += 1000;
    assert.equal(
      worker.tryWrite(() => {}),
      false,
      'the stall through the other gate doubled the pause this one shut for',
    );
    clock.ms += 1000;
    assert.equal(
      worker.tryWrite(() => {}),
      true,
    );
  });
});
