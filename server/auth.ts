// Who is asking: a bearer token (header, or `?token=` where browsers cannot
// set headers) mapped to a user by HUB_TOKENS. Tokens are compared by hash and
// never logged. With no tokens configured the hub is open, and everybody is the
// local admin: fine on a laptop, and the start-up log says so.
import { createHash } from 'node:crypto';
import type { TokenGrant } from './config.ts';

export interface Caller {
  userId: string;
  admin: boolean;
}

const hash = (token: string) => createHash('sha256').update(token).digest('base64');

export class Authenticator {
  private readonly grants = new Map<string, TokenGrant>();

  constructor(tokens: Map<string, TokenGrant>) {
    for (const [token, grant] of tokens) this.grants.set(hash(token), grant);
  }

  get open(): boolean {
    return this.grants.size === 0;
  }

  /** The caller, or undefined when the credentials are missing or wrong. */
  identify(authorization: string, queryToken: string | null): Caller | undefined {
    if (this.open) return { userId: 'local', admin: true };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    return this.identifyToken(bearer ?? queryToken ?? undefined);
  }

  /** The caller a token stands for (however the client presented it). */
  identifyToken(token: string | undefined): Caller | undefined {
    if (this.open) return { userId: 'local', admin: true };
    if (!token) return undefined;
    const grant = this.grants.get(hash(token));
    return grant ? { userId: grant.userId, admin: grant.admin } : undefined;
  }
}
