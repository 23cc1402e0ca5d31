import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { log } from '../util/log.js';

export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Forwards stdin to the SDK's stdio transport in whole lines, dropping any line longer than
 * `maxLine` (the SDK's own buffer limit would otherwise close the transport and leave the server
 * deaf). A dropped line is answered with a JSON-RPC error so the client is not left waiting.
 * A plain emitter rather than a Transform stream: it runs on every message, and stays synchronous.
 */
export function guardStdin(input: Readable, reply: (line: string) => void, maxLine = MAX_MESSAGE_BYTES): Readable {
  const out = new EventEmitter() as EventEmitter & { pause(): void; resume(): void };
  out.pause = () => input.pause();
  out.resume = () => input.resume();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropping = false;

  input.on('data', (chunk: Buffer) => {
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      hold(chunk);
      return;
    }
    // Everything up to the last newline is whole lines; check each only when something is long.
    const head = chunk.subarray(0, lastNl + 1);
    const tail = chunk.subarray(lastNl + 1);
    if (!dropping && pendingBytes + head.length <= maxLine) {
      out.emit('data', pending.length ? Buffer.concat([...pending, head]) : head);
    } else {
      let start = 0;
      for (let nl = head.indexOf(10); nl !== -1; nl = head.indexOf(10, start)) {
        hold(head.subarray(start, nl + 1));
        if (dropping) rejectLine();
        else out.emit('data', Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
        dropping = false;
        start = nl + 1;
      }
    }
    pending = [];
    pendingBytes = 0;
    dropping = false;
    if (tail.length) hold(tail);
  });
  input.on('error', (e) => out.emit('error', e));
  input.on('end', () => out.emit('end'));

  function hold(piece: Buffer) {
    if (dropping) return;
    pendingBytes += piece.length;
    if (pendingBytes > maxLine) {
      dropping = true;
      pending = [];
    } else pending.push(piece);
  }

  function rejectLine() {
    log.warn(`dropped a message over ${maxLine} bytes on stdin`);
    reply(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `Message too large (limit ${maxLine} bytes)` } })}\n`);
  }

  return out as unknown as Readable;
}
