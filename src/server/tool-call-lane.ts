import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage, RequestId, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { LowLevelServer } from './low-level-server.js';

/** A tools/call request's params, as a handler reads them. */
export interface ToolCallParams {
  name: string;
  arguments?: Record<string, unknown>;
}

/** What a tools/call handler gets besides its params: the parts of the SDK's RequestHandlerExtra the servers use. */
export interface CallExtra {
  requestId: RequestId;
  /** Aborted when the client cancels the call or the connection closes. */
  signal: AbortSignal;
  progressToken?: string | number;
  sendNotification(notification: ServerNotification): Promise<void>;
}

export type ToolCallHandler = (params: ToolCallParams, extra: CallExtra) => Promise<CallToolResult>;

const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

type Message = Record<string, unknown> & { id?: RequestId; method?: string; params?: Record<string, unknown> };

/**
 * tools/call served beside the SDK's Protocol instead of through it. Every message the SDK
 * receives is parsed against four zod schemas to tell its kind, then each request gets a promise
 * chain and a handler context of a dozen closures; for the one request that carries all the work
 * that was a tenth of what the server added to a read. Here a call is handled as the Protocol
 * handles it (an AbortController per call, aborted by notifications/cancelled or by the connection
 * closing; no answer once aborted; a thrown error answered as JSON-RPC internal error), with
 * nothing else. Every other message goes to the SDK unchanged.
 */
export class ToolCallLane {
  private readonly inFlight = new Map<RequestId, AbortController>();

  constructor(
    private readonly server: LowLevelServer,
    private readonly handler: ToolCallHandler,
  ) {}

  /** `transport` with tools/call (and the cancellation of one) taken off before the SDK sees it. */
  wrap(transport: Transport): Transport {
    return new LaneTransport(transport, this);
  }

  /** True when this lane took the message (a tools/call request, or the cancellation of one in flight). */
  take(m: JSONRPCMessage, transport: Transport): boolean {
    const msg = m as Message;
    if (msg.method === 'tools/call' && msg.id !== undefined) {
      this.serve(msg.id, msg.params ?? {}, transport);
      return true;
    }
    // A notification only: a request that names this method is the SDK's to answer (-32601).
    if (msg.method === 'notifications/cancelled' && msg.id === undefined) {
      const id = msg.params?.requestId as RequestId | undefined;
      const call = id === undefined ? undefined : this.inFlight.get(id);
      if (id === undefined || !call) return false;
      call.abort(msg.params?.reason);
      this.inFlight.delete(id);
      return true;
    }
    return false;
  }

  /** The connection closed: stop every call in flight (none will be answered). */
  abortAll(): void {
    for (const call of this.inFlight.values()) call.abort();
    this.inFlight.clear();
  }

  private serve(id: RequestId, params: Record<string, unknown>, transport: Transport): void {
    const { name, arguments: args, _meta } = params;
    // The stdin guard refuses these before they get here; any other transport is checked here.
    if (typeof name !== 'string' || (args !== undefined && (!args || typeof args !== 'object' || Array.isArray(args)))) {
      this.answer(transport, { jsonrpc: '2.0', id, error: { code: INVALID_PARAMS, message: 'Invalid params: tools/call needs a string "name" and object "arguments"' } });
      return;
    }
    // This server declares no task support: a call asking to run as a task is refused unrun, in
    // the SDK's words, as the SDK refused it.
    if (params.task !== undefined) {
      this.answer(transport, { jsonrpc: '2.0', id, error: { code: INTERNAL_ERROR, message: 'Server does not support task creation (required for tools/call)' } });
      return;
    }
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    const token = (_meta as { progressToken?: unknown } | undefined)?.progressToken;
    const extra: CallExtra = {
      requestId: id,
      signal: controller.signal,
      ...(typeof token === 'string' || typeof token === 'number' ? { progressToken: token } : {}),
      sendNotification: async (notification) => {
        if (!controller.signal.aborted) await this.server.notification(notification, { relatedRequestId: id });
      },
    };
    const done = (reply: JSONRPCMessage) => {
      if (this.inFlight.get(id) === controller) this.inFlight.delete(id);
      if (!controller.signal.aborted) this.answer(transport, reply);
    };
    this.handler({ name, ...(args === undefined ? {} : { arguments: args as Record<string, unknown> }) }, extra).then(
      (result) => { done({ jsonrpc: '2.0', id, result }); },
      (err: unknown) => { done({ jsonrpc: '2.0', id, error: errorOf(err) }); },
    );
  }

  private answer(transport: Transport, reply: JSONRPCMessage): void {
    transport.send(reply).catch((err: unknown) => transport.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }
}

/** A thrown error as the SDK's Protocol answers it: its own code and data when it has them (an McpError), else -32603. */
function errorOf(err: unknown): { code: number; message: string; data?: unknown } {
  const e = (err && typeof err === 'object' ? err : {}) as { code?: unknown; message?: unknown; data?: unknown };
  return {
    code: typeof e.code === 'number' && Number.isSafeInteger(e.code) ? e.code : INTERNAL_ERROR,
    message: typeof e.message === 'string' && e.message ? e.message : 'Internal error',
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
}

/** The transport the SDK is connected to: the real one, with the lane's messages taken off. */
class LaneTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;

  constructor(
    private readonly inner: Transport,
    lane: ToolCallLane,
  ) {
    // Handlers set on the transport before it was connected (serveStdio logs its errors) still run,
    // as the SDK's Protocol keeps them when it connects.
    const { onclose, onerror } = inner;
    inner.onmessage = (message, extra) => {
      if (!lane.take(message, inner)) this.onmessage?.(message, extra);
    };
    inner.onclose = () => {
      lane.abortAll();
      onclose?.();
      this.onclose?.();
    };
    inner.onerror = (error) => {
      onerror?.(error);
      this.onerror?.(error);
    };
  }

  get sessionId() {
    return this.inner.sessionId;
  }
  start() {
    return this.inner.start();
  }
  send(message: JSONRPCMessage, options?: TransportSendOptions) {
    return this.inner.send(message, options);
  }
  close() {
    return this.inner.close();
  }
  setProtocolVersion(version: string) {
    this.inner.setProtocolVersion?.(version);
  }
}

/** A server whose every connection serves tools/call through `handler` on a ToolCallLane. */
export function serveToolCalls<S extends LowLevelServer>(server: S, handler: ToolCallHandler): S {
  const lane = new ToolCallLane(server, handler);
  const connect = server.connect.bind(server);
  server.connect = (transport: Transport) => connect(lane.wrap(transport));
  return server;
}
