/**
 * `loopiq-mcp` (or `serve`) typed in a terminal otherwise waits silently for JSON-RPC. Say what it
 * is and how to register it — on stderr, since stdout belongs to the protocol — and keep serving.
 */
export function serveBanner(opts: { sandbox?: boolean }): string {
  return [
    `loopiq-mcp ${opts.sandbox ? 'serve --sandbox' : 'serve'}: this is the MCP server that AI clients start themselves; it is now waiting for`,
    'JSON-RPC on stdin (press Ctrl-C to stop).',
    'To use it, register it in your client instead:',
    '  loopiq-mcp install --client claude-desktop   (or cursor, vscode, claude-code, windsurf)',
    'Then check the setup with `loopiq-mcp doctor`; `loopiq-mcp --help` lists every command.',
    '',
  ].join('\n');
}
