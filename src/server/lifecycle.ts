import { closeDialogs } from '../gate/channels/dialog.js';
import { log } from '../util/log.js';

/**
 * How every stdio server ends: on stdin EOF, SIGINT or SIGTERM it closes open dialogs (no
 * orphans), then each resource in order, and exits 0. An unhandled rejection is logged in one
 * line (never a stack trace) and the server keeps serving.
 */
export function endWithClient(closers: (() => unknown)[]): void {
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.debug(`shutting down (${why})`);
    await closeDialogs();
    for (const close of closers) await Promise.resolve().then(close).catch(() => {});
    process.exit(0);
  };
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (reason) => { log.error(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`); });
}
