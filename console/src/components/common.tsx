// Small pieces every view uses.
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.ts';

export function ViewHeading(props: { readonly title: string; readonly children?: ComponentChildren }) {
  return (
    <div class="view-heading">
      {/* The shell moves the focus here when the view changes, so a screen reader says where it is. */}
      <h1 tabIndex={-1}>{props.title}</h1>
      {props.children && <p class="view-summary">{props.children}</p>}
    </div>
  );
}

/** The last poll failed: what is shown may be stale. */
export function PollProblem(props: { readonly error: ApiError | undefined }) {
  return <div role="alert">{props.error && <p class="problem">Not up to date: {props.error.message}</p>}</div>;
}

export function Loading() {
  return <p class="loading">Loading…</p>;
}

export function Pager(props: {
  readonly page: number;
  readonly pages: number;
  readonly label: string;
  readonly onPage: (page: number) => void;
}) {
  if (props.pages <= 1) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" class="button" disabled={props.page === 0} onClick={() => props.onPage(props.page - 1)}>
        Previous
      </button>
      <span>
        Page {props.page + 1} of {props.pages}
      </span>
      <button type="button" class="button" disabled={props.page >= props.pages - 1} onClick={() => props.onPage(props.page + 1)}>
        Next
      </button>
    </nav>
  );
}

/** One of a table row's action buttons: `label` says what it acts on, for a screen reader; `danger` marks a delete. */
export function RowAction(props: {
  readonly label: string;
  readonly danger?: boolean;
  readonly disabled?: boolean;
  readonly onClick: () => void;
  readonly children: ComponentChildren;
}) {
  return (
    <button
      type="button"
      class={props.danger ? 'button small danger' : 'button small'}
      aria-label={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

/** A wide table that scrolls sideways on a narrow screen, reachable by keyboard. */
export function TableScroller(props: { readonly label: string; readonly children: ComponentChildren }) {
  return (
    <div class="table-scroller" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

/** A filter by barcode: what is typed, in any case, is looked for inside each barcode. */
export function BarcodeFilter(props: { readonly value: string; readonly onChange: (value: string) => void }) {
  return (
    <label>
      Barcode
      <input value={props.value} onInput={(e) => props.onChange(e.currentTarget.value)} autocomplete="off" spellcheck={false} />
    </label>
  );
}

/** A filter by one of a few values ("" for any). */
export function ChoiceFilter<T extends string>(props: {
  readonly label: string;
  readonly value: T | '';
  /** Value and text of each choice. */
  readonly choices: readonly (readonly [T, string])[];
  readonly onChange: (value: T | '') => void;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as T | '')}>
        <option value="">Any</option>
        {props.choices.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
