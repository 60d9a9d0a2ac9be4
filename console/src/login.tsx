// Signing in: the API token from api.json, typed or pasted into a password
// field and checked against the API. The form is never submitted by the
// browser (the page's policy forbids it), so the token goes only into the
// Authorization header of the console's own requests.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, checkToken } from './api.ts';

export function Login(props: { readonly reason: string | undefined; readonly onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string>();
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const typed = token.trim();
    setBusy(true);
    setRefusal(undefined);
    try {
      await checkToken(typed);
      props.onSignIn(typed);
    } catch (error) {
      const message = error instanceof ApiError ? error.message : String(error);
      setRefusal(error instanceof ApiError && error.status === 401 ? `The gateway refused this token: ${message}.` : message);
      setBusy(false);
      field.current?.select();
    }
  };
  return (
    <main class="login">
      <form class="login-card" onSubmit={(event) => void submit(event)}>
        <h1>Tape gateway</h1>
        <p>Sign in with the management API's token.</p>
        {props.reason && <p class="problem">{props.reason}</p>}
        <label for="token">API token</label>
        <input
          ref={field}
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-hint"
          aria-invalid={refusal ? true : undefined}
        />
        <p id="token-hint" class="hint">
          The gateway writes it to <code>api.json</code> in its data directory: <code>jq -r .token data/api.json</code>
        </p>
        <div role="alert">{refusal && <p class="refusal">{refusal}</p>}</div>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
