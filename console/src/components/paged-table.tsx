// A table of many rows, 50 to a page, that scrolls sideways on a narrow
// screen. Give it a new `key` when its filters change, so it starts again at
// the first page.
import { Fragment, type ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { count } from '../format.ts';
import { Pager, TableScroller } from './common.tsx';

const ROWS = 50;

export interface Column<T> {
  readonly header: string;
  /** Said to screen readers only (an actions column). */
  readonly hiddenHeader?: boolean;
  /** Right-aligned figures. */
  readonly number?: boolean;
  readonly cell: (row: T) => ComponentChildren;
}

export function PagedTable<T>(props: {
  readonly label: string;
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  /** The first column names the row (a barcode). */
  readonly columns: readonly Column<T>[];
  /** What to say when no row is there. */
  readonly empty: string;
  /** A line under each row across every column, for what is too long for a cell (a volume's target, a share's mount command). */
  readonly detail?: (row: T) => ComponentChildren;
}) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(props.rows.length / ROWS));
  const current = Math.min(page, pages - 1);
  const rows = props.rows.slice(current * ROWS, current * ROWS + ROWS);
  const numeric = (column: Column<T>) => (column.number ? 'number' : undefined);
  return (
    <>
      <p class="count" aria-live="polite">
        {rows.length === 0 ? props.empty : `Showing ${current * ROWS + 1}–${current * ROWS + rows.length} of ${count(props.rows.length)}`}
      </p>
      <TableScroller label={props.label}>
        <table class="data">
          <thead>
            <tr>
              {props.columns.map((column) => (
                <th key={column.header} scope="col" class={numeric(column)}>
                  {column.hiddenHeader ? <span class="visually-hidden">{column.header}</span> : column.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <Fragment key={props.rowKey(row)}>
                <tr class={props.detail ? 'has-detail' : undefined}>
                  {props.columns.map((column, i) =>
                    i === 0 ? (
                      <th key={column.header} scope="row">
                        {column.cell(row)}
                      </th>
                    ) : (
                      <td key={column.header} class={numeric(column)}>
                        {column.cell(row)}
                      </td>
                    ),
                  )}
                </tr>
                {props.detail && (
                  <tr class="detail">
                    <td colSpan={props.columns.length}>{props.detail(row)}</td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </TableScroller>
      <Pager page={current} pages={pages} label={`Pages of ${props.label.toLowerCase()}`} onPage={setPage} />
    </>
  );
}
