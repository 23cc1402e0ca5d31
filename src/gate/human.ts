import type { ApprovalRecord } from './approvals.js';
import { ancestors, type ProcessId } from './process-tree.js';

/** Environment variables that AI agents set for the commands their shell tool runs. */
export const AGENT_MARKERS = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'GEMINI_CLI', 'CODEX_SANDBOX', 'CODEX_MANAGED_BY_NPM', 'CURSOR_AGENT', 'CURSOR_TRACE_ID', 'CLINE_ACTIVE', 'AIDER_MODEL'] as const;

export interface HumanCheckIo {
  env: NodeJS.ProcessEnv;
  stdin: { isTTY?: boolean };
  stdout: { isTTY?: boolean };
}

/**
 * Why this process cannot be an interactive human deciding on `approval`, or undefined when it may
 * be one. Not a proof of a human (no local check is; docs/threat-model.md): it refuses what an
 * agent's shell tool does by default — no terminal, the agent's own environment, and any command
 * that runs inside the process tree of the client that asked for the write (e.g. under `script`).
 */
export function notAHuman(io: HumanCheckIo, approval: Pick<ApprovalRecord, 'requester'>, chain: () => ProcessId[] = () => ancestors()): string | undefined {
  if (!io.stdin.isTTY || !io.stdout.isTTY) return 'it needs an interactive terminal (stdin and stdout must be a TTY)';
  const marker = AGENT_MARKERS.find((m) => io.env[m] !== undefined && io.env[m] !== '');
  if (marker) return `it runs inside an AI agent's shell (${marker} is set)`;
  const asked = approval.requester;
  if (asked.length) {
    const mine = chain();
    const hit = mine.find((a) => asked.some((r) => r.pid === a.pid && r.started === a.started));
    if (hit) return `it runs inside the AI client that asked for this write (process ${hit.pid})`;
  }
  return undefined;
}
