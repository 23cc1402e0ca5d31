import type { z } from 'zod';
import type { ApiClient, CallOptions, CallResult } from './client.js';
import type { Endpoint } from './contract.js';
import { LoopIqError } from './errors.js';

/** An endpoint a tool may call directly: reads only. */
export type ReadEndpoint<R extends z.ZodType> = Endpoint<R> & { method: 'GET' };

/**
 * What tools get instead of the API client: it cannot send POST/PATCH/DELETE, by type and at run
 * time. Writes go through the gate, which alone holds the full client.
 */
export interface ReadApi {
  call<R extends z.ZodType>(endpoint: ReadEndpoint<R>, options?: CallOptions): Promise<z.infer<R>>;
  callWithMeta<R extends z.ZodType>(endpoint: ReadEndpoint<R>, options?: CallOptions): Promise<CallResult<z.infer<R>>>;
}

export function readApi(client: ApiClient): ReadApi {
  const onlyGet = (endpoint: Endpoint<z.ZodType>) => {
    if (endpoint.method !== 'GET') {
      throw new LoopIqError('read_only', `Refused ${endpoint.method} ${endpoint.path}: tools can only read; writes go through the approval gate.`, 'This is a bug in loopiq-mcp; please report it.');
    }
  };
  return {
    call: async (endpoint, opts) => {
      onlyGet(endpoint);
      return client.call(endpoint, withoutWriteOptions(opts));
    },
    callWithMeta: async (endpoint, opts) => {
      onlyGet(endpoint);
      return client.callWithMeta(endpoint, withoutWriteOptions(opts));
    },
  };
}

function withoutWriteOptions(opts: CallOptions = {}): CallOptions {
  const { idempotencyKey: _k, dryRun: _d, ...rest } = opts;
  return rest;
}
