// A signed-in customer's session: the access token (`hfc_…`, sent as
// `Authorization: Bearer`), when it stops working, and the email it was
// issued for, kept in localStorage (`holdfast.customer`) so that every tab
// of the browser is signed in. Only the token's hash is on the server; the
// password is never stored.

export interface Session {
  accessToken: string;
  /** When the token stops working (CUSTOMER_TOKEN_TTL after sign-in). */
  expiresAt: string;
  /** The account's email, lowercased as the server keeps it. */
  email: string;
}

export const SESSION_STORAGE_KEY = 'holdfast.customer';

/** A stored session, if well-formed and not expired. */
export function parseSession(raw: string | null, now: number = Date.now()): Session | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.accessToken !== 'string' || typeof s.expiresAt !== 'string' || typeof s.email !== 'string') return null;
    const at = Date.parse(s.expiresAt);
    if (Number.isNaN(at) || at <= now) return null;
    return { accessToken: s.accessToken, expiresAt: s.expiresAt, email: s.email };
  } catch {
    return null;
  }
}

export function readSession(): Session | null {
  try {
    return parseSession(window.localStorage.getItem(SESSION_STORAGE_KEY));
  } catch {
    return null;
  }
}

export function storeSession(s: Session | null) {
  try {
    if (s) window.localStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify(s));
    else window.localStorage.removeItem(SESSION_STORAGE_KEY);
  } catch {
    // Private mode without storage: signed in for as long as the tab lives.
  }
}
