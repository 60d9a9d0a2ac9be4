// The console: the sign-in form until the gateway takes a token, then the
// shell (header, navigation, the view named in the address after #/).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api } from './api.ts';
import { NoticeArea, NoticeContext } from './components/notices.tsx';
import { ApiContext } from './live.ts';
import { Login } from './login.tsx';
import { VIEWS, type View } from './views/index.ts';

/** The token lives as long as the tab: a reload keeps it, closing the tab forgets it. */
const TOKEN_KEY = 'tapegw-token';

export function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  const [reason, setReason] = useState<string>();
  const signOut = (why?: string) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setReason(why);
    setToken(undefined);
  };
  const api = useMemo(
    () => token && new Api(token, (error) => signOut(`Signed out: ${error.message}. The gateway may have restarted with a new token.`)),
    [token],
  );
  if (!api) {
    return (
      <Login
        reason={reason}
        onSignIn={(accepted) => {
          sessionStorage.setItem(TOKEN_KEY, accepted);
          setReason(undefined);
          setToken(accepted);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={api}>
      <Shell onSignOut={() => signOut()} />
    </ApiContext.Provider>
  );
}

function viewInAddress(): View {
  const id = /^#\/([\w-]+)/.exec(location.hash)?.[1];
  return VIEWS.find((view) => view.id === id) ?? VIEWS[0]!;
}

function Shell(props: { readonly onSignOut: () => void }) {
  const [view, setView] = useState(viewInAddress);
  const [notice, setNotice] = useState<string>();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    const follow = () => setView(viewInAddress());
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  useEffect(() => {
    document.title = `${view.title} · Tape gateway`;
    setNotice(undefined);
    // After a change of view (not on arrival), the focus goes to its heading.
    if (!first.current) main.current?.querySelector<HTMLElement>('h1')?.focus();
    first.current = false;
  }, [view]);

  const Current = view.component;
  return (
    <div class="shell">
      <a
        class="skip-link"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">
          <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="2" y="5" width="20" height="14" rx="2" />
            <circle cx="8" cy="12" r="3" />
            <circle cx="16" cy="12" r="3" />
          </svg>
          Tape gateway
        </span>
        <button type="button" class="button quiet" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <nav class="nav" aria-label="Views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <a href={`#/${v.id}`} aria-current={v.id === view.id ? 'page' : undefined}>
                {v.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        <NoticeContext.Provider value={setNotice}>
          <NoticeArea text={notice} onDismiss={() => setNotice(undefined)} />
          <Current key={view.id} />
        </NoticeContext.Provider>
      </main>
    </div>
  );
}
