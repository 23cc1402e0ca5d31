import { api } from '../api/contract.js';
import { toLoopIqError } from '../api/errors.js';
import type { GlobalFlags } from '../config/settings.js';
import { inert } from '../util/inert.js';
import { parseStored } from '../auth/oauth/credential.js';
import { commandContext, processIo, type Io } from './context.js';

/** Revoke server-side (best effort, reported), then delete from the keychain. */
export async function logout(opts: GlobalFlags, io: Io = processIo()): Promise<number> {
  const ctx = await commandContext(opts, io);
  const token = await ctx.keychain.get();
  if (!token) {
    ctx.print(`Not logged in to ${ctx.settings.apiOrigin} (no token in the keychain).`);
    if (io.env.LOOPIQ_TOKEN) ctx.print('LOOPIQ_TOKEN is set in this environment; unset it to stop using that token.');
    return 0;
  }
  const stored = parseStored(token);
  if (stored.kind === 'oauth') return (await import('./login-oauth.js')).logoutOAuth(ctx, stored);
  const client = ctx.apiWith(token);
  let revoked = false;
  try {
    const me = await client.call(api.me());
    await client.call(api.revokeToken(me.token.id));
    revoked = true;
  } catch (err) {
    ctx.warn(`warning: could not revoke the token on the server: ${inert(toLoopIqError(err).message)}\nRevoke it in LoopIQ → Settings → API tokens if it may be compromised.`);
  } finally {
    await client.close();
  }
  await ctx.keychain.delete();
  ctx.print(`Logged out of ${ctx.settings.apiOrigin}: ${revoked ? 'token revoked and ' : ''}removed from the keychain.`);
  if (io.env.LOOPIQ_TOKEN) ctx.print('Note: LOOPIQ_TOKEN is still set in this environment.');
  return 0;
}
