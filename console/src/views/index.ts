// The console's views, in the navigation's order. A new face of the gateway
// is one more entry here and one file in views/, added once its API routes
// exist.
import type { ComponentType } from 'preact';
import { CacheView } from './cache.tsx';
import { LibraryView } from './library.tsx';
import { SharesView } from './shares.tsx';
import { ShelfView } from './shelf.tsx';
import { TapesView } from './tapes.tsx';
import { VolumesView } from './volumes.tsx';

export interface View {
  /** In the address: #/library. */
  readonly id: string;
  readonly title: string;
  readonly component: ComponentType;
}

export const VIEWS: readonly View[] = [
  { id: 'library', title: 'Library', component: LibraryView },
  { id: 'tapes', title: 'Tapes', component: TapesView },
  { id: 'shelf', title: 'Shelf', component: ShelfView },
  { id: 'volumes', title: 'Volumes', component: VolumesView },
  { id: 'shares', title: 'File shares', component: SharesView },
  { id: 'cache', title: 'Cache and cloud', component: CacheView },
];
