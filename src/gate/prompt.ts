import { inert, inertJson } from '../util/inert.js';
import type { ApprovalRecord } from './approvals.js';
import { isMcpCall, payloadOf, requestLine } from './request.js';

/**
 * What the human sees, in every channel: every field that will be sent, with every character that
 * came from the model or the API rendered inert (escaped, never interpreted). The payload is JSON
 * that parses to exactly the body that is sent.
 */
export function approvalText(a: ApprovalRecord): string {
  return [
    'An AI assistant asks to write to LoopIQ. Approve only if this is exactly what you want.',
    '',
    `Organization: ${inert(a.org.name)} (${inert(a.org.id)})`,
    `Tool:         ${inert(a.tool)}`,
    `Action:       ${inert(a.summary)}`,
    `Request:      ${requestLine(a.request)}`,
    `API:          ${inert(a.apiOrigin)}`,
    `Approval:     ${a.id} (expires ${a.expiresAt.slice(11, 16)} UTC)`,
    '',
    isMcpCall(a.request) && !a.request.hasDryRun ? 'LoopIQ preview: none (this tool offers no dry run; judge the payload below)' : 'LoopIQ preview:',
    inertJson(a.preview),
    '',
    'Payload (sent exactly as shown, once):',
    inertJson(payloadOf(a.request)),
    ...(isMcpCall(a.request) && a.request.hasIdempotencyKey ? [`  plus idempotencyKey "${inert(a.idempotencyKey)}" (a retry after a lost answer reuses it and cannot write twice)`] : []),
    '',
    `Digest: ${a.digest.slice(0, 16)}`,
  ].join('\n');
}

export const approvalTitle = (a: Pick<ApprovalRecord, 'tool'>) => `LoopIQ: approve ${inert(a.tool)}?`;
