// What an action did, said once in a polite live region at the top of the
// view: the console's counterpart of tapegw's one line on stdout. Refusals are
// shown where the action was asked for (in its dialog), in the API's words.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export const NoticeContext = createContext<(text: string) => void>(() => {});

export function useNotify(): (text: string) => void {
  return useContext(NoticeContext);
}

export function NoticeArea(props: { readonly text: string | undefined; readonly onDismiss: () => void }) {
  // The region is always there, so that screen readers announce what appears in it.
  return (
    <div class="notice-area" role="status">
      {props.text && (
        <p class="notice">
          <span>{props.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={props.onDismiss}>
            <span aria-hidden="true">×</span>
          </button>
        </p>
      )}
    </div>
  );
}
