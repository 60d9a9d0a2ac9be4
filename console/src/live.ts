// Live data without reloading, by polling: each view asks every couple of
// seconds for the routes it shows, with If-None-Match, so an unchanged answer
// is a bodiless 304 and no re-render. Polling rather than server-sent events
// because (1) EventSource cannot send the Authorization header, and the token
// must not go in a URL or a cookie the API would then have to trust; (2) the
// gateway's services raise no change events, so a stream would be the server
// polling them instead; (3) polling the CLI's own routes keeps everything the
// console shows within tapegw's reach. Hidden tabs do not poll.
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { MetricsHistoryAnswer } from '../../src/api/stats-types.ts';
import { ApiError, type Api } from './api.ts';
import { mergeHistory } from './history.ts';

export const POLL_MS = 2000;

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi() outside the signed-in console');
  return api;
}

const REFRESH = 'tapegw:refresh';

/** Every poll asks again at once: after an action, its effect shows without waiting. */
export function refreshNow(): void {
  window.dispatchEvent(new Event(REFRESH));
}

export interface Polled<T> {
  readonly data?: T;
  /** The last poll's failure; `data` is then the last answer that came. */
  readonly error?: ApiError;
}

/** Polls GET `path` while the component is shown. */
export function usePoll<T>(path: string, intervalMs = POLL_MS): Polled<T> {
  return usePolling<T, T>(
    path,
    intervalMs,
    (api, etag) => api.get<T>(path, etag),
    (_old, fresh) => fresh,
  );
}

let lastHistory: MetricsHistoryAnswer | undefined;

/** The gateway's metrics over the last hour: fetched whole once, then only the samples after the last one. */
export function useHistory(): Polled<MetricsHistoryAnswer> {
  return usePolling<MetricsHistoryAnswer, MetricsHistoryAnswer>(
    'history',
    5000,
    (api) => {
      const last = lastHistory?.times.at(-1);
      return api.get<MetricsHistoryAnswer>(last === undefined ? '/metrics/history' : `/metrics/history?since=${last}`);
    },
    (_old, increment) => (lastHistory = lastHistory ? mergeHistory(lastHistory, increment) : increment),
    lastHistory,
  );
}

function usePolling<A, T>(
  key: string,
  intervalMs: number,
  fetchOnce: (api: Api, etag: string | undefined) => ReturnType<Api['get']>,
  combine: (old: T | undefined, fresh: A) => T,
  initial?: T,
): Polled<T> {
  const api = useApi();
  const [state, setState] = useState<Polled<T>>(initial === undefined ? {} : { data: initial });
  useEffect(() => {
    let etag: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let running = false;
    let again = false;
    const run = async () => {
      clearTimeout(timer);
      if (stopped || document.hidden) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const fetched = await fetchOnce(api, etag);
        if (stopped) return;
        if (fetched === 'not-modified') {
          setState((old) => (old.error ? { ...(old.data === undefined ? {} : { data: old.data }) } : old));
        } else {
          etag = fetched.etag;
          setState((old) => ({ data: combine(old.data, fetched.data as A) }));
        }
      } catch (error) {
        const failure =
          error instanceof ApiError
            ? error
            : new ApiError(0, 'BAD_ANSWER', `The gateway's answer could not be read: ${(error as Error).message}`);
        if (!stopped) setState((old) => ({ ...(old.data === undefined ? {} : { data: old.data }), error: failure }));
      } finally {
        running = false;
        if (!stopped) timer = setTimeout(() => void run(), again ? 0 : intervalMs);
        again = false;
      }
    };
    const whenShown = () => void (document.hidden ? clearTimeout(timer) : run());
    const refresh = () => void run();
    document.addEventListener('visibilitychange', whenShown);
    window.addEventListener(REFRESH, refresh);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', whenShown);
      window.removeEventListener(REFRESH, refresh);
    };
  }, [api, key, intervalMs]);
  return state;
}
