// Progress while tapegw waits: a cli-progress bar when stderr is a terminal
// (here a stream that says it is one), plain lines otherwise.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { stderrProgress } from '../../src/cli/progress.ts';

/** A stream standing in for stderr, with or without a terminal behind it; `text` is what was written. */
function stderrStandIn(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 80 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

// eslint-disable-next-line no-control-regex -- terminal escape sequences begin with ESC
const ESCAPE_SEQUENCE = /\x1b(\[[?0-9;]*[A-Za-z]|[78])/g;
const plain = (text: string) => text.replace(ESCAPE_SEQUENCE, '\n').split('\n').filter(Boolean);

describe('tapegw progress on stderr', () => {
  it('draws a bar on a terminal, redrawn in place, left on screen when done', () => {
    const { stream, text } = stderrStandIn(true);
    const progress = stderrProgress(stream);
    progress.update('ABC001L5 ARCHIVING', 40);
    progress.update('ABC001L5 ARCHIVED', 100);
    progress.stop();
    assert.deepEqual(plain(text()), [
      'ABC001L5 ARCHIVING [============------------------] 40%',
      'ABC001L5 ARCHIVED [==============================] 100%',
    ]);
    assert.ok(text().endsWith('\n'), 'what follows starts on a new line');
  });

  it('writes a line for each change of status or percentage when stderr is not a terminal', () => {
    const { stream, text } = stderrStandIn(false);
    const progress = stderrProgress(stream);
    for (const [label, percent] of [
      ['ABC001L5 RETRIEVING', 0],
      ['ABC001L5 RETRIEVING', 0],
      ['ABC001L5 RETRIEVING', 33.4],
      ['ABC001L5 RETRIEVED', 100],
    ] as const) {
      progress.update(label, percent);
    }
    progress.stop();
    assert.equal(text(), 'ABC001L5 RETRIEVING 0%\nABC001L5 RETRIEVING 33%\nABC001L5 RETRIEVED 100%\n');
  });
});
