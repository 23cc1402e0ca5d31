import { Server } from '@modelcontextprotocol/sdk/server/index.js';

// The SDK deprecates Server for everything but advanced uses. Both servers here are such uses:
// the REST mode serves prebuilt JSON Schemas and validates a tool's arguments only when it is first
// called (McpServer builds every tool's zod schema at start); the hosted mode relays tools whose
// JSON Schemas come from the endpoint (McpServer takes only zod schemas). Named once, here.
// eslint-disable-next-line @typescript-eslint/no-deprecated -- the low-level Server is the SDK's API for tools not registered as zod (see above)
export const LowLevelServer = Server;
export type LowLevelServer = InstanceType<typeof LowLevelServer>;

/** Form elicitation declared by the client (`{}` is the 2025-06-18 spelling of form-only). */
export function canElicit(server: LowLevelServer): boolean {
  const e = server.getClientCapabilities()?.elicitation;
  return !!e && (e.form !== undefined || Object.keys(e).length === 0);
}
