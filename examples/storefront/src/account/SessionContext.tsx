// The session and the GraphQL client that carries it. Every request reads
// the token when it leaves (so a sign-in's next request is the customer's
// at once); the websocket's identity is fixed at its connection, so a new
// token gets a new client (and the old one's socket is closed): the cart's
// subscription then starts again as the customer.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Provider } from 'urql';
import { makeClient, type ClientHandle } from '../client';
import { readSession, SESSION_STORAGE_KEY, parseSession, storeSession, type Session } from './session';

interface SessionContextValue {
  session: Session | null;
  /** Signs in locally: from now on every request carries the token. */
  begin(s: Session): void;
  /** Signs out locally (the token is forgotten). */
  end(): void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ url, children }: { url?: string; children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(readSession);
  const ref = useRef<Session | null>(session);

  const set = useCallback((s: Session | null) => {
    ref.current = s;
    setSession(s);
  }, []);
  const begin = useCallback((s: Session) => {
    storeSession(s);
    set(s);
  }, [set]);
  const end = useCallback(() => {
    storeSession(null);
    set(null);
  }, [set]);

  // Another tab signed in or out.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== SESSION_STORAGE_KEY) return;
      const next = parseSession(e.newValue);
      if (next?.accessToken !== ref.current?.accessToken) set(next);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [set]);

  const token = session?.accessToken ?? null;
  const handle = useMemo<ClientHandle>(() => makeClient(url, () => ref.current?.accessToken ?? null), [url, token]);
  // Close the previous client's socket once its successor is in place (not
  // in a cleanup: StrictMode would close the live one).
  const previous = useRef<ClientHandle | null>(null);
  useEffect(() => {
    if (previous.current && previous.current !== handle) previous.current.dispose();
    previous.current = handle;
  }, [handle]);

  const value = useMemo(() => ({ session, begin, end }), [session, begin, end]);
  return (
    <SessionContext.Provider value={value}>
      <Provider value={handle.client}>{children}</Provider>
    </SessionContext.Provider>
  );
}

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
