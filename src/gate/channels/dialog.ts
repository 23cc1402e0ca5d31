// node:child_process is taken when a dialog opens (process.getBuiltinModule): loading it costs a start ~3 ms.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ApprovalChannel } from './channel.js';

export type DialogVerdict = 'approved' | 'declined' | 'timed_out' | 'unavailable';

interface DialogCommand {
  command: string;
  args: string[];
  /** Extra environment (Windows: the text travels in env vars, not in the command line). */
  env?: Record<string, string>;
  approved(code: number | null, stdout: string): boolean;
  timedOut(code: number | null, stdout: string): boolean;
}

/** Dialog processes still open, so shutdown can close them (no orphans). */
const live = new Set<ChildProcess>();

/** Ends open dialogs and waits (briefly) until they are gone and reaped. */
export async function closeDialogs(waitMs = 500): Promise<void> {
  const exits = [...live].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
        c.once('exit', () => { resolve(); });
        c.kill('SIGTERM');
      }),
  );
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, waitMs))]);
}

export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The native dialog for this platform, or undefined when none can be shown here. */
export function dialogCommand(title: string, text: string, timeoutSec: number, env: NodeJS.ProcessEnv, platform = process.platform): DialogCommand | undefined {
  if (platform === 'darwin') {
    const osascript = findExecutable('osascript', env) ?? '/usr/bin/osascript';
    return {
      command: osascript,
      args: [
        '-e', 'on run argv',
        '-e', 'display dialog (item 1 of argv) with title (item 2 of argv) buttons {"Reject", "Approve"} default button "Reject" cancel button "Reject" with icon caution giving up after ((item 3 of argv) as integer)',
        '-e', 'end run',
        text, title, String(timeoutSec),
      ],
      approved: (code, out) => code === 0 && /button returned:Approve/.test(out) && !/gave up:true/.test(out),
      timedOut: (code, out) => code === 0 && /gave up:true/.test(out),
    };
  }
  if (platform === 'win32') {
    // PowerShell joins -Command arguments into script text, so the text goes in env vars instead.
    const script =
      'Add-Type -AssemblyName System.Windows.Forms; ' +
      '$r = [System.Windows.Forms.MessageBox]::Show($env:LOOPIQ_DIALOG_TEXT, $env:LOOPIQ_DIALOG_TITLE, "YesNo", "Warning", "Button2"); ' +
      'if ($r -eq "Yes") { exit 0 } else { exit 1 }';
    return {
      command: findExecutable('powershell.exe', env) ?? 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')],
      env: { LOOPIQ_DIALOG_TEXT: text, LOOPIQ_DIALOG_TITLE: title },
      approved: (code) => code === 0,
      timedOut: () => false,
    };
  }
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  const zenity = findExecutable('zenity', env);
  if (zenity) {
    return {
      command: zenity,
      // --default-cancel: Enter (or a stray keypress) rejects.
      args: ['--question', '--no-markup', '--default-cancel', '--width=640', `--title=${title}`, `--text=${text}`, '--ok-label=Approve', '--cancel-label=Reject', `--timeout=${timeoutSec}`],
      approved: (code) => code === 0,
      timedOut: (code) => code === 5,
    };
  }
  const kdialog = findExecutable('kdialog', env);
  if (kdialog) {
    return {
      command: kdialog,
      // kdialog has no "default: no" option, and its default button is "yes": so "yes" is Reject,
      // "no" is Approve, and closing the window (exit 2) rejects too.
      args: ['--title', title, '--yes-label', 'Reject', '--no-label', 'Approve', '--cancel-label', 'Cancel', '--yesnocancel', text],
      approved: (code) => code === 1,
      timedOut: () => false,
    };
  }
  return undefined;
}

/** Longest request text a native dialog is trusted to show whole. */
export const DIALOG_MAX_CHARS = 4_000;

export interface OpenDialog {
  /** Settles when the human answers, the dialog times out, or it is closed. */
  answer: Promise<DialogVerdict>;
  close(): void;
}

/** Shows the dialog (arguments only, never a shell); it stays open at most `timeoutMs`. */
export function openDialog(title: string, text: string, timeoutMs: number, env: NodeJS.ProcessEnv): OpenDialog | undefined {
  const cmd = dialogCommand(title, text, Math.max(1, Math.ceil(timeoutMs / 1000)), env);
  if (!cmd) return undefined;
  let child: ChildProcess;
  const answer = new Promise<DialogVerdict>((resolve) => {
    let stdout = '';
    let settled = false;
    const finish = (v: DialogVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      live.delete(child);
      resolve(v);
    };
    child = process.getBuiltinModule('node:child_process').spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'ignore'], shell: false, env: { ...env, ...cmd.env } });
    live.add(child);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish('timed_out');
    }, timeoutMs + 2_000);
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', () => { finish('unavailable'); });
    child.on('close', (code) => { finish(cmd.approved(code, stdout) ? 'approved' : cmd.timedOut(code, stdout) ? 'timed_out' : 'declined'); });
  });
  return { answer, close: () => void child.kill('SIGKILL') };
}

/**
 * A native dialog from the server process (Claude Desktop's path). It waits for this call's bound;
 * if the human has not answered by then, it stays open and a later answer is recorded.
 */
export function dialogChannel(env: NodeJS.ProcessEnv, openForMs: number): ApprovalChannel {
  return {
    name: 'dialog',
    async ask(q, { waitMs, signal, onLateAnswer }) {
      if (q.text.length > DIALOG_MAX_CHARS) return { kind: 'skip', detail: `the request is too long to show whole in a dialog (${q.text.length} characters)` };
      const dialog = openDialog(q.title, q.text, openForMs, env);
      if (!dialog) return { kind: 'skip', detail: 'no dialog can be shown here (no display or dialog program)' };
      const onAbort = () => { dialog.close(); };
      signal?.addEventListener('abort', onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([dialog.answer, new Promise<'waiting'>((r) => (timer = setTimeout(() => { r('waiting'); }, Math.max(0, waitMs))))]);
      clearTimeout(timer);
      if (waited === 'waiting') {
        void dialog.answer.then(async (late) => {
          signal?.removeEventListener('abort', onAbort);
          if (late === 'approved' || late === 'declined') await onLateAnswer(late === 'approved').catch(() => {});
        });
        return { kind: 'pending', detail: 'the approval dialog is still open on the user\'s screen' };
      }
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return { kind: 'cancelled', detail: 'the tool call was cancelled.' };
      if (waited === 'unavailable') return { kind: 'skip', detail: 'the dialog program could not start' };
      if (waited === 'approved') return { kind: 'approved' };
      if (waited === 'timed_out') return { kind: 'timed_out', detail: 'the approval dialog timed out without an answer.' };
      return { kind: 'declined', detail: 'the user rejected the request in the approval dialog.' };
    },
  };
}
