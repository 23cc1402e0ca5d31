// Entry point of the MCP Bundle: Claude Desktop starts `node <bundle>/server/index.js serve` with
// the manifest's env, in which each user_config value has been substituted.
// An optional setting the user left empty arrives as "" or, in some Desktop builds, as the
// unsubstituted literal "${user_config.name}": both mean "not set", never a value to send.
const UNSET = /^\$\{user_config\.[A-Za-z0-9_]+\}$/;
for (const name of ['LOOPIQ_ORG', 'LOOPIQ_READ_ONLY', 'LOOPIQ_API_URL', 'LOOPIQ_TOKEN']) {
  const value = process.env[name]?.trim();
  if (value === undefined) continue;
  if (value === '' || UNSET.test(value)) Reflect.deleteProperty(process.env, name);
}

// Without a token setting the keychain is the only source. Desktop may refuse third-party native
// modules (macOS: modelcontextprotocol/mcpb#229); say so in Desktop's log, where users look.
if (!process.env.LOOPIQ_TOKEN) {
  try {
    await import('@napi-rs/keyring');
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    process.stderr.write(
      `loopiq-mcp: the OS keychain module cannot load here (${why}), and no token is set. ` +
        'Paste a LoopIQ token into this extension\'s "LoopIQ token" setting (Claude Desktop → Settings → Extensions → LoopIQ → Configure).\n',
    );
  }
}

await import('../dist/cli.js');
