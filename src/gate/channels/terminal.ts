import type { ApprovalChannel } from './channel.js';

/** `loopiq-mcp approve <code>` in the user's own terminal; always able to show the whole request. */
export const terminalChannel: ApprovalChannel = {
  name: 'terminal',
  ask: (q) => Promise.resolve({ kind: 'pending', detail: `run \`loopiq-mcp approve ${q.record.id}\` in a terminal` }),
};
