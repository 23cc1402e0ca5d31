import { api } from '../api/contract.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import { notLoggedIn } from '../auth/token-source.js';
import { inert } from '../util/inert.js';
import { parseStored } from '../auth/oauth/credential.js';
import type { GlobalFlags } from '../config/settings.js';
import { commandContext, formatExpiry, processIo, refuseWithEnvToken, type Io } from './context.js';

/**
 * Mint → verify → store → revoke the old one. If storing fails, the new token is revoked and the
 * old one kept: the user is never left without a working token. Running servers get one 401,
 * re-read the keychain and retry.
 */
export async function rotate(opts: GlobalFlags & { json?: boolean }, io: Io = processIo()): Promise<number> {
  refuseWithEnvToken(io, 'rotate the token');
  const ctx = await commandContext(opts, io);
  const oldToken = await ctx.keychain.get();
  if (!oldToken) throw notLoggedIn(`No token in the OS keychain for ${ctx.settings.apiOrigin} to rotate.`);
  if (parseStored(oldToken).kind === 'oauth') return (await import('./login-oauth.js')).rotateOAuth(ctx, opts.json);

  const oldClient = ctx.apiWith(oldToken);
  const minted = await oldClient
    .call(api.rotateToken())
    .catch((err: unknown) => {
      if (err instanceof LoopIqError && (err.code === 'unauthenticated' || err.code === 'token_expired')) {
        throw new LoopIqError(
          err.code,
          `The token in the OS keychain for ${ctx.settings.apiOrigin} was not accepted (${err.code === 'token_expired' ? 'it has expired' : 'unknown or revoked'}), so it cannot be rotated; nothing was changed.`,
          'Log in again with a new token: `loopiq-mcp login`.',
          err.extra,
        );
      }
      throw err;
    })
    .finally(() => oldClient.close());
  const newClient = ctx.apiWith(minted.token);
  try {
    const me = await newClient.call(api.me()).catch((err: unknown) => {
      throw new LoopIqError('bad_response', `The new token could not be verified (${toLoopIqError(err).message}); your current token was kept.`, 'Run `loopiq-mcp rotate` again.');
    });
    if (me.token.id !== minted.id) {
      await newClient.call(api.revokeToken(minted.id)).catch(() => {});
      throw new LoopIqError('bad_response', 'The new token does not identify as the token just minted; it was revoked and your current token kept.', 'Run `loopiq-mcp rotate` again.');
    }
    try {
      await ctx.keychain.set(minted.token);
    } catch (err) {
      await newClient.call(api.revokeToken(minted.id)).catch(() => {});
      throw new LoopIqError(
        'keychain_unavailable',
        `Could not store the new token, so it was revoked and your current token kept: ${toLoopIqError(err).message}`,
        'Fix the keychain (`loopiq-mcp doctor`) and run `loopiq-mcp rotate` again.',
      );
    }
    const revokedOld = await newClient.call(api.revokeToken(minted.previous.id)).then(
      () => true,
      (err: unknown) => {
        ctx.warn(`warning: the old token could not be revoked (${inert(toLoopIqError(err).message)}); it stops working at ${minted.previous.expiresAt ?? 'its expiry'}.`);
        return false;
      },
    );
    if (opts.json) ctx.json({ tokenId: minted.id, expiresAt: minted.expiresAt, previousRevoked: revokedOld });
    else ctx.print(`Rotated: new token ${formatExpiry(minted.expiresAt).text}, stored in the keychain; old token ${revokedOld ? 'revoked' : 'NOT revoked'}.`);
    return 0;
  } finally {
    await newClient.close();
  }
}
