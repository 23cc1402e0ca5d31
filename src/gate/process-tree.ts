import { readFileSync } from 'node:fs';

/** A process, identified so that a reused pid is not mistaken for it. */
export interface ProcessId {
  pid: number;
  /** Start time as the OS reports it (Linux: clock ticks since boot; macOS: `ps lstart`). */
  started: string;
}

interface ProcInfo extends ProcessId {
  ppid: number;
  name: string;
  cmdline: string;
}

function linuxInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) is in parentheses and may itself contain spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      /* gone or hidden */
    }
    return { pid, ppid: Number(fields[1]), started: fields[19] ?? '', name, cmdline };
  } catch {
    return undefined;
  }
}

function psInfo(pid: number): ProcInfo | undefined {
  try {
    // Taken here, not imported: a server start does not need node:child_process.
    const out = process.getBuiltinModule('node:child_process').execFileSync('ps', ['-o', 'ppid=,lstart=,comm=', '-p', String(pid)], { encoding: 'utf8', timeout: 2_000 }).trim();
    const m = /^(\d+)\s+(\w{3}\s+\w{3}\s+\d+\s+[\d:]+\s+\d{4})\s+(.*)$/.exec(out);
    if (!m) return undefined;
    const [, ppid = '', started = '', comm = ''] = m;
    return { pid, ppid: Number(ppid), started, name: comm.split('/').at(-1) ?? '', cmdline: comm };
  } catch {
    return undefined;
  }
}

export function processInfo(pid: number): ProcInfo | undefined {
  if (process.platform === 'linux') return linuxInfo(pid);
  if (process.platform === 'darwin' || process.platform === 'freebsd') return psInfo(pid);
  return undefined; // Windows: no ancestry check (docs/threat-model.md says so).
}

/** This process's ancestors, nearest first, up to (not including) pid 1. */
export function ancestors(pid = process.pid, limit = 64): ProcessId[] {
  const out: ProcessId[] = [];
  let info = processInfo(pid);
  while (info && info.ppid > 1 && out.length < limit) {
    const parent = processInfo(info.ppid);
    if (!parent) break;
    out.push({ pid: parent.pid, started: parent.started });
    info = parent;
  }
  return out;
}

const WRAPPER = /^(sh|bash|dash|zsh|fish|env|cmd\.exe|powershell(\.exe)?|pwsh|npm|npx|timeout)$/;

/**
 * The AI client that launched this server: the parent, and its parent too when the parent is only
 * a wrapper (a shell, npm/npx). Its shell tool's commands run below it; a human's terminal does not.
 */
export function requester(): ProcessId[] {
  const chain: ProcessId[] = [];
  let info = processInfo(process.ppid);
  for (let depth = 0; info && depth < 3; depth++) {
    chain.push({ pid: info.pid, started: info.started });
    const wrapper = WRAPPER.test(info.name) || /\bnpm-cli\.js\b|\bnpx-cli\.js\b/.test(info.cmdline);
    if (!wrapper || info.ppid <= 1) break;
    info = processInfo(info.ppid);
  }
  return chain;
}
