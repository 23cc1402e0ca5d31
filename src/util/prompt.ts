import type { Io } from '../commands/context.js';

/** Reads all of stdin (for `--with-token`). */
export async function readAll(stdin: Io['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** The user pressed Ctrl-C (or Ctrl-D on an empty line) at a prompt. */
export class Cancelled extends Error {
  override readonly name = 'Cancelled';
  constructor() {
    super('cancelled at the prompt');
  }
}

/**
 * A line typed on a TTY without echo (tokens). Echo is turned off BEFORE the prompt is shown:
 * whatever is typed or pasted the moment the prompt appears must never reach the screen.
 */
export function promptHidden(io: Io, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { stdin } = io;
    // Echo off before the prompt shows: a token pasted the instant it appears must not be echoed.
    stdin.setRawMode?.(true);
    stdin.resume();
    io.stderr.write(question);
    let value = '';
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\u0004' && value === '') { done(new Cancelled()); return; }
        if (ch === '\r' || ch === '\n' || ch === '\u0004') { done(); return; }
        if (ch === '\u0003') { done(new Cancelled()); return; }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const onEnd = () => { done(new Cancelled()); };
    const done = (err?: Error) => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
  });
}

/** A visible y/N question on a TTY. */
export function promptLine(io: Io, question: string): Promise<string> {
  return new Promise((resolve) => {
    io.stderr.write(question);
    const { stdin } = io;
    stdin.resume();
    let buf = '';
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      const nl = buf.search(/[\r\n]/);
      if (nl >= 0) {
        stdin.removeListener('data', onData);
        stdin.pause();
        resolve(buf.slice(0, nl));
      }
    };
    stdin.on('data', onData);
    stdin.once('end', () => { resolve(buf); });
  });
}
