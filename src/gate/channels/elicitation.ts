import type { ApprovalChannel, ClientAbilities } from './channel.js';

/** Longest request text an elicitation form is trusted to show whole. */
export const ELICITATION_MAX_CHARS = 16_000;

/** MCP form elicitation, in the client's own UI (Cursor, VS Code, Claude Code). */
export function elicitationChannel(client: ClientAbilities): ApprovalChannel {
  return {
    name: 'elicitation',
    async ask(q, { waitMs, signal }) {
      if (!client.elicit) return { kind: 'skip', detail: 'the client has no elicitation' };
      if (q.text.length > ELICITATION_MAX_CHARS) return { kind: 'skip', detail: `the request is too long to show whole in the client (${q.text.length} characters)` };
      if (waitMs <= 0) return { kind: 'no_answer', detail: 'no time left in this call' };
      const ac = new AbortController();
      const onAbort = () => { ac.abort(); };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const r = await client.elicit(
          {
            mode: 'form',
            message: q.text,
            requestedSchema: {
              type: 'object',
              properties: { approve: { type: 'boolean', title: 'Approve and run this write', description: 'Leave unchecked to reject.', default: false } },
              required: ['approve'],
            },
          },
          waitMs,
          ac.signal,
        );
        if (r.action === 'accept' && r.content?.approve === true) return { kind: 'approved' };
        if (r.action === 'accept' || r.action === 'decline') return { kind: 'declined', detail: 'the user declined the request.' };
        return { kind: 'cancelled', detail: 'the user (or the client) cancelled the request without approving it.' };
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (signal?.aborted) return { kind: 'cancelled', detail: 'the tool call was cancelled.' };
        // Declared but never rendered, or a human still reading: the next channel carries it.
        if (/timed? ?out/i.test(msg)) return { kind: 'no_answer', detail: `the client showed no answer within ${Math.round(waitMs / 1000)} s` };
        return { kind: 'cancelled', detail: `the client could not show the approval request (${msg.slice(0, 200)}).` };
      } finally {
        ac.abort();
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
