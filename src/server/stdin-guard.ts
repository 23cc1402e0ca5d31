import { Transform, type Readable } from 'node:stream';
import { log } from '../util/log.js';

export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Passes stdin through line by line, dropping any line longer than `maxLine` (the SDK's own
 * buffer limit would otherwise close the transport and leave the server deaf). A dropped line is
 * answered with a JSON-RPC error so the client is not left waiting.
 */
export function guardStdin(input: Readable, reply: (line: string) => void, maxLine = MAX_MESSAGE_BYTES): Readable {
  let parts: Buffer[] = [];
  let length = 0;
  let dropping = false;
  return input.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        let start = 0;
        for (;;) {
          const nl = chunk.indexOf(10, start);
          const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl + 1);
          if (!dropping) {
            length += piece.length;
            if (length > maxLine) {
              dropping = true;
              parts = [];
            } else parts.push(piece);
          }
          if (nl === -1) break;
          if (dropping) {
            log.warn(`dropped a ${length}+ byte message on stdin (limit ${maxLine})`);
            reply(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `Message too large (limit ${maxLine} bytes)` } })}\n`);
          } else this.push(Buffer.concat(parts));
          parts = [];
          length = 0;
          dropping = false;
          start = nl + 1;
        }
        done();
      },
    }),
  );
}
