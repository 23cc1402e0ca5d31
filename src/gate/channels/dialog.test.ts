import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dialogCommand } from './dialog.js';

// macOS and Windows dialogs cannot run here; what can be checked is that the text never becomes
// part of a script or a shell line (the Linux path is exercised for real with a fake zenity).
const hostile = `"; do shell script "rm -rf ~" --'\n$(id) \`id\` & del C:\\*`;

describe('native dialog commands', () => {
  it('macOS: the text is an argv item of osascript, not part of the AppleScript source', () => {
    const cmd = dialogCommand('Approve?', hostile, 30, { PATH: '' }, 'darwin')!;
    const script = cmd.args.filter((_, i) => cmd.args[i - 1] === '-e').join('\n');
    expect(script).not.toContain(hostile);
    expect(script).toContain('item 1 of argv');
    expect(cmd.args.slice(-3)).toEqual([hostile, 'Approve?', '30']);
    expect(cmd.approved(0, 'button returned:Approve, gave up:false')).toBe(true);
    expect(cmd.approved(0, 'button returned:, gave up:true')).toBe(false);
    expect(cmd.timedOut(0, 'button returned:, gave up:true')).toBe(true);
    expect(cmd.approved(1, '')).toBe(false);
  });

  it('Windows: the text travels in environment variables; the encoded script is constant', () => {
    const a = dialogCommand('Approve?', hostile, 30, { PATH: '' }, 'win32')!;
    const b = dialogCommand('Other', 'other text', 30, { PATH: '' }, 'win32')!;
    expect(a.args).toEqual(b.args);
    expect(a.args.join(' ')).not.toContain('rm -rf');
    expect(a.env).toEqual({ LOOPIQ_DIALOG_TEXT: hostile, LOOPIQ_DIALOG_TITLE: 'Approve?' });
  });

  it('Linux: Reject is the default button (zenity --default-cancel; kdialog\'s default "yes" is Reject, closing rejects)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dialogs-'));
    for (const name of ['zenity', 'kdialog']) {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), 0o755);
    }
    const z = dialogCommand('t', 'x', 30, { PATH: dir, DISPLAY: ':0' }, 'linux')!;
    expect(z.args).toContain('--default-cancel');
    expect(z.approved(0, '')).toBe(true);
    expect(z.approved(1, '')).toBe(false);
    rmSync(join(dir, 'zenity'));
    const k = dialogCommand('t', 'x', 30, { PATH: dir, DISPLAY: ':0' }, 'linux')!;
    expect(k.args.slice(k.args.indexOf('--yes-label'), k.args.indexOf('--yes-label') + 4)).toEqual(['--yes-label', 'Reject', '--no-label', 'Approve']);
    expect([0, 1, 2].map((code) => k.approved(code, ''))).toEqual([false, true, false]);
  });

  it('Linux without a display has no dialog (unavailable, not declined)', () => {
    expect(dialogCommand('t', 'x', 30, { PATH: '/usr/bin:/bin' }, 'linux')).toBeUndefined();
  });
});
