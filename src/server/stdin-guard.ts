import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../util/log.js';

export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** JSON-RPC 2.0 error codes. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;

export interface GuardOptions {
  maxLine?: number;
  /** Names `tools/call` may use; any other is answered with a protocol error (MCP 2025-11-25). */
  knownTools?: ReadonlySet<string>;
}

type Verdict = { forward: true; message: JSONRPCMessage } | { forward: false; reply?: { id: string | number | null; code: number; message: string }; why: string };

// The SDK's RequestIdSchema: a string, or an integer zod calls safe.
const isId = (v: unknown): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * What the spec answers to one line of input. Only messages the SDK will accept are forwarded:
 * anything it would drop silently (leaving a client waiting) or mis-answer is answered here.
 */
export function judgeMessage(line: string, knownTools?: ReadonlySet<string>): Verdict {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { forward: false, reply: { id: null, code: PARSE_ERROR, message: 'Parse error: not valid JSON' }, why: 'a line that is not JSON' };
  }
  if (Array.isArray(msg)) {
    return { forward: false, reply: { id: null, code: INVALID_REQUEST, message: 'Invalid Request: batches are not supported' }, why: 'a batch' };
  }
  if (!isObject(msg)) {
    return { forward: false, reply: { id: null, code: INVALID_REQUEST, message: 'Invalid Request: not an object' }, why: 'a message that is not an object' };
  }
  const hasId = Object.hasOwn(msg, 'id');
  const id = isId(msg.id) ? msg.id : null;
  const isRequest = Object.hasOwn(msg, 'method');
  const isResponse = !isRequest && (Object.hasOwn(msg, 'result') || Object.hasOwn(msg, 'error'));
  /** A malformed request gets -32600, with its id when that could be read, else null (JSON-RPC §5). */
  const invalidRequest = (message: string, why: string): Verdict =>
    isResponse ? { forward: false, why: `a response with ${why}` } : { forward: false, reply: { id, code: INVALID_REQUEST, message: `Invalid Request: ${message}` }, why };
  if (msg.jsonrpc !== '2.0') return invalidRequest('jsonrpc must be "2.0"', 'a message without jsonrpc "2.0"');
  if (hasId && id === null) {
    return isResponse ? { forward: false, why: 'a response with an invalid id' } : { forward: false, reply: { id: null, code: INVALID_REQUEST, message: 'Invalid Request: id must be a string or an integer' }, why: 'a request with an invalid id' };
  }
  if (isRequest) {
    if (typeof msg.method !== 'string') return invalidRequest('method must be a string', 'a request without a string method');
    if (Object.hasOwn(msg, 'params') && !(msg.params && typeof msg.params === 'object')) return invalidRequest('params must be an object', 'params that are not an object');
    // Semantic checks answer only requests: a notification is never answered.
    const params = (msg.params ?? {}) as Record<string, unknown>;
    const invalidParams = (message: string, why: string): Verdict =>
      hasId ? { forward: false, reply: { id, code: INVALID_PARAMS, message: `Invalid params: ${message}` }, why } : { forward: false, why: `a notification with ${why}` };
    if (Array.isArray(params)) return invalidParams('params must be an object, not an array', 'params given by position');
    if (msg.method === 'tools/call') {
      if (typeof params.name !== 'string') return invalidParams('tools/call needs a string "name"', 'tools/call without a name');
      if (params.arguments !== undefined && !isObject(params.arguments)) return invalidParams('tools/call "arguments" must be an object', 'tools/call with non-object arguments');
      if (knownTools && !knownTools.has(params.name)) return invalidParams('unknown tool (see tools/list for the tools this server offers)', 'a call to an unknown tool');
      // A call is most of the traffic: checked here for all the SDK's schema would check of it
      // (a property test holds the two equal), and not parsed against that schema again.
      if (hasId) return toolCallEnvelopeOk(msg, params) ? { forward: true, message: msg as JSONRPCMessage } : invalidRequest('not a valid JSON-RPC message', 'a malformed message');
    }
  } else if (!isResponse) return invalidRequest('no method, result or error', 'a message that is neither request nor response');
  // Whatever else the SDK's own schema refuses would be dropped without an answer. Parsed here
  // once: the transport hands this message on as it is (stdio-transport.ts).
  const parsed = JSONRPCMessageSchema.safeParse(msg);
  if (!parsed.success) return invalidRequest('not a valid JSON-RPC message', 'a malformed message');
  return { forward: true, message: parsed.data };
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/**
 * What the SDK's JSONRPCRequestSchema checks beyond judgeMessage's own checks of a tools/call request
 * (jsonrpc, id, method, params, name, arguments): no other top-level key, and a `_meta` of the
 * SDK's shape.
 */
function toolCallEnvelopeOk(msg: Record<string, unknown>, params: Record<string, unknown>): boolean {
  for (const k in msg) if (!REQUEST_KEYS.has(k)) return false;
  if (!Object.hasOwn(params, '_meta')) return true;
  const meta = params._meta;
  if (!isObject(meta)) return false;
  if (Object.hasOwn(meta, 'progressToken') && !isId(meta.progressToken)) return false;
  if (!Object.hasOwn(meta, RELATED_TASK)) return true;
  const task = meta[RELATED_TASK];
  return isObject(task) && typeof task.taskId === 'string';
}

/**
 * Reads stdin in whole lines and emits each good one as a parsed `message`, answering every line
 * the SDK would not (see judgeMessage) and dropping any line longer than `maxLine`. Each refusal is
 * one short stderr line. A plain emitter rather than a Transform stream: it runs on every message,
 * and stays synchronous.
 */
export function guardStdin(input: Readable, reply: (line: string) => void, options: number | GuardOptions = {}): GuardedInput {
  const { maxLine = MAX_MESSAGE_BYTES, knownTools } = typeof options === 'number' ? { maxLine: options } : options;
  const out = new EventEmitter() as GuardedInput;
  out.pause = () => input.pause();
  out.resume = () => input.resume();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropping = false;

  const answer = (id: string | number | null, code: number, message: string) => { reply(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`); };

  /** Judges each whole line of `lines` (ends with a newline) and emits the good ones. */
  function pass(lines: Buffer) {
    let start = 0;
    for (let nl = lines.indexOf(10); nl !== -1; nl = lines.indexOf(10, start)) {
      const line = lines.subarray(start, nl + 1);
      start = nl + 1;
      const text = line.toString('utf8').trim();
      if (!text) continue;
      const v = judgeMessage(text, knownTools);
      if (v.forward) out.emit('message', v.message);
      else {
        log.warn(`${v.reply ? 'answered' : 'ignored'} ${v.why} on stdin`);
        if (v.reply) answer(v.reply.id, v.reply.code, v.reply.message);
      }
    }
  }

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
      pass(pending.length ? Buffer.concat([...pending, head]) : head);
    } else {
      let start = 0;
      for (let nl = head.indexOf(10); nl !== -1; nl = head.indexOf(10, start)) {
        hold(head.subarray(start, nl + 1));
        if (dropping) rejectLine();
        else pass(Buffer.concat(pending));
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
    log.warn(`answered a message over ${maxLine} bytes on stdin`);
    answer(null, INVALID_REQUEST, `Message too large (limit ${maxLine} bytes)`);
  }

  return out;
}

/** stdin, judged: `message` for each good line, then `error`/`end` as the stream has them. */
export type GuardedInput = EventEmitter & { pause(): void; resume(): void };
