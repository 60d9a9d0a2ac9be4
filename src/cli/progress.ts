// Progress of a long wait, on stderr so stdout keeps only the result: a bar
// when stderr is a terminal, else a plain line each time the status or the
// percentage changes (what a log or a CI job can keep).
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `label` says what is going on (e.g. "ABC123L5 ARCHIVING"); `percent` is 0-100. */
  update(label: string, percent: number): void;
  /** Leaves the bar's last state on screen; the next output starts on a new line. */
  stop(): void;
}

export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new SingleBar({ stream, format: '{label} [{bar}] {percentage}%', hideCursor: true, barsize: 30 });
  let started = false;
  return {
    update(label, percent) {
      if (started) {
        bar.update(percent, { label });
      } else {
        bar.start(100, percent, { label });
        started = true;
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineProgress(stream: NodeJS.WritableStream): Progress {
  let last = '';
  return {
    update(label, percent) {
      const line = `${label} ${Math.round(percent)}%\n`;
      if (line !== last) stream.write(line);
      last = line;
    },
    stop() {},
  };
}
