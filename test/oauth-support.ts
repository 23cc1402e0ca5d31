/**
 * Test helpers for the OAuth tests: a minimal browser (cookies, redirects, HTML forms) that walks
 * the real provider's login and consent pages with plain HTTP, and a CLI process whose stderr can
 * be awaited line by line while it runs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './support/cli.js';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Page {
  url: string;
  status: number;
  html: string;
}

export class TestBrowser {
  private cookies: Cookie[] = [];
  /** Every URL visited, in order. */
  readonly visited: string[] = [];

  private cookieHeader(url: URL) {
    return this.cookies
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=/i.test(a.trim()) && Date.parse(a.trim().slice(8)) < Date.now());
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired && value) this.cookies.push({ name, value, path });
    }
  }

  /**
   * Load a URL and follow redirects like a browser, stopping before `stopAt` URLs (returned
   * unvisited, so the test decides what reaches the CLI's loopback listener).
   */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}, stopAt?: (u: URL) => boolean): Promise<Page> {
    let current = new URL(url);
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      if (stopAt?.(current)) return { url: current.href, status: 0, html: '' };
      this.visited.push(current.href);
      const headers: Record<string, string> = { cookie: this.cookieHeader(current) };
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' });
      this.store(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: current.href, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submit the page's form (the one with `id`, else the first) with its hidden fields plus `fields`. */
  async submit(page: Page, fields: Record<string, string>, stopAt?: (u: URL) => boolean, id?: string): Promise<Page> {
    const forms = [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
    const form = id ? forms.find((f) => attr(f[1]!, 'id') === id) : forms[0];
    if (!form) throw new Error(`no form${id ? ` ${id}` : ''} on ${page.url}: ${page.html.slice(0, 400)}`);
    const values: Record<string, string> = {};
    for (const input of form[2]!.matchAll(/<input\b([^>]*)>/g)) {
      const name = attr(input[1]!, 'name');
      if (name && attr(input[1]!, 'type') === 'hidden') values[name] = decodeEntities(attr(input[1]!, 'value') ?? '');
    }
    const action = new URL(decodeEntities(attr(form[1]!, 'action') ?? page.url), page.url).href;
    return this.go(action, { method: (attr(form[1]!, 'method') ?? 'post').toUpperCase(), form: { ...values, ...fields } }, stopAt);
  }
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
}

function decodeEntities(s: string) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

export const isLoopbackCallback = (u: URL) => u.hostname === '127.0.0.1' && u.pathname === '/callback';

/** Walk the provider's login + consent pages as `login`; returns the redirect to the CLI (not yet visited). */
export async function authorizeInBrowser(browser: TestBrowser, authUrl: string, login = 'alex'): Promise<URL> {
  let page = await browser.go(authUrl, {}, isLoopbackCallback);
  for (let step = 0; step < 4 && page.status !== 0; step++) {
    if (page.html.includes('name="login"')) page = await browser.submit(page, { login, password: 'any' }, isLoopbackCallback);
    else if (page.html.includes('value="consent"')) page = await browser.submit(page, {}, isLoopbackCallback);
    else throw new Error(`unexpected page ${page.url} (${page.status}): ${page.html.slice(0, 600)}`);
  }
  if (page.status !== 0) throw new Error(`the provider did not redirect back to the CLI: ${page.url}`);
  return new URL(page.url);
}

/** A running CLI command whose stderr can be awaited. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.end();
    const poke = () => { this.waiters.splice(0).forEach((w) => { w(); }); };
    this.child.stdout.on('data', (c: Buffer) => {
      this.stdout += c.toString('utf8');
      poke();
    });
    this.child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString('utf8');
      poke();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        poke();
        resolve(code);
      });
    });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    void this.exited.then(() => { clearTimeout(timer); });
  }

  /** Resolves with the first match of `re` in stderr (waits for it; fails if the process exits first). */
  async waitFor(re: RegExp, stream: 'stderr' | 'stdout' = 'stderr'): Promise<RegExpMatchArray> {
    for (;;) {
      const m = re.exec(this[stream]);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`CLI exited (${this.child.exitCode}) before ${re}: ${this.stderr}${this.stdout}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

export function filesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out = statSync(p).isDirectory() ? out.concat(filesUnder(p)) : out.concat(p);
  }
  return out;
}

export const readAllFiles = (dir: string) => filesUnder(dir).map((f) => readFileSync(f, 'utf8'));

export const AUTH_URL = /^(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m;

export async function webLogin(u: { env: Record<string, string>; outputs: string[] }, args: string[] = []) {
  const cli = new CliProcess(['login', '--web', '--no-browser', ...args], u.env);
  const [, authUrl] = await cli.waitFor(AUTH_URL);
  const browser = new TestBrowser();
  const callback = await authorizeInBrowser(browser, authUrl!);
  const landing = await browser.go(callback.href);
  const code = await cli.exited;
  u.outputs.push(cli.stdout, cli.stderr);
  return { cli, code, landing, callback, authUrl: authUrl! };
}

/** Walk the device pages: enter the code, confirm (or abort), log in, consent. */
export async function approveDevice(verificationUri: string, userCode: string, opts: { abort?: boolean } = {}): Promise<Page> {
  const browser = new TestBrowser();
  let page = await browser.go(verificationUri);
  for (let step = 0; step < 6; step++) {
    if (page.html.includes('op.deviceInputForm')) page = await browser.submit(page, { user_code: userCode }, undefined, 'op.deviceInputForm');
    else if (page.html.includes('op.deviceConfirmForm')) page = await browser.submit(page, opts.abort ? { abort: 'yes' } : {}, undefined, 'op.deviceConfirmForm');
    else if (page.html.includes('name="login"')) page = await browser.submit(page, { login: 'alex', password: 'any' });
    else if (page.html.includes('value="consent"')) page = await browser.submit(page, {});
    else return page;
  }
  return page;
}

