// Which object backend, and which key there, each extent key goes to. Every
// namespace a consumer opens is a route: by default to the engine's own backend
// under the same key; a share may send its namespace to a bucket and prefix of
// its own. A key no open namespace covers has no route, and its queued uploads
// wait until one opens (a share's, after a restart).
import type { ObjectBackend, OpenBackend } from '../cloud/object-backend.ts';
import { BLOCK } from './extent.ts';

export interface Route {
  readonly backend: ObjectBackend;
  /** The namespace's prefix of extent keys, replaced by `remotePrefix` in the backend's keys. */
  readonly namespace: string;
  readonly remotePrefix: string;
  /** Serve objects that other S3 clients put in without the gateway's checksums. */
  readonly allowUnverified: boolean;
  /** Bytes per checksum block of the namespace's extents in the cache. */
  readonly blockSize: number;
  /** See RouteOptions. */
  readonly uploadsWhenDrained: boolean;
  /** See RouteOptions. */
  readonly streamed: boolean;
}

export interface RouteOptions {
  /** Default: the engine's own backend. */
  readonly backend?: ObjectBackend;
  /** Default: the namespace itself, so that keys are the same in the bucket. */
  readonly remotePrefix?: string;
  readonly allowUnverified?: boolean;
  /**
   * Bytes per checksum block of the namespace's extents (default BLOCK, 256 KiB):
   * smaller for extents read and written in small pieces, so that a 4 KiB read
   * checks a few KiB, not 256. A power of two from 4 KiB to 256 KiB.
   */
  readonly blockSize?: number;
  /**
   * Writes are queued for upload by drain() alone (the consumer says when a file is
   * complete, as a share does once a file has settled), not by sync() (which still
   * makes them durable) nor by the engine's writeback; writers held back by a full
   * upload buffer still queue them. Default false.
   */
  readonly uploadsWhenDrained?: boolean;
  /**
   * The namespace's data is written as a stream and seldom read back soon (a
   * tape's records): its large writes (256 KiB and more) leave the page cache
   * once written back, and what is read of them from the disk (by uploads and
   * readers) is not kept either (RWF_DONTCACHE, Linux 6.14; elsewhere plain
   * I/O). Their pages then serve the next writes and reads instead of new ones
   * taken from free memory, which cost more than the copy (src/fileio/fileio.c).
   * Default false.
   */
  readonly streamed?: boolean;
}

/**
 * What a consumer asks of a namespace's route: a backend of its own is opened by
 * the engine, with the engine's hooks (its upload and download counts, its
 * bandwidth schedule), as the engine's own backend is, and closed by it.
 */
export type NamespaceOptions = Omit<RouteOptions, 'backend'> & { readonly backend?: OpenBackend };

export class CloudRoutes {
  /** Longest namespace first, so that the most specific one wins. */
  private routes: Route[] = [];

  constructor(readonly defaultBackend: ObjectBackend) {}

  /** Opens the namespace `namespace` (a prefix of keys, '' for all of them), replacing its route if it had one. */
  open(namespace: string, options: RouteOptions = {}): Route {
    const blockSize = options.blockSize ?? BLOCK;
    if (!(blockSize >= 4096 && blockSize <= BLOCK && (blockSize & (blockSize - 1)) === 0)) {
      throw new RangeError(`checksum block of ${blockSize} bytes for namespace ${namespace}: give a power of two from 4096 to ${BLOCK}`);
    }
    const route: Route = {
      backend: options.backend ?? this.defaultBackend,
      namespace,
      remotePrefix: options.remotePrefix ?? namespace,
      allowUnverified: options.allowUnverified ?? false,
      blockSize,
      uploadsWhenDrained: options.uploadsWhenDrained ?? false,
      streamed: options.streamed ?? false,
    };
    this.routes = [...this.routes.filter((r) => r.namespace !== namespace), route].sort((a, b) => b.namespace.length - a.namespace.length);
    return route;
  }

  /** Forgets the namespace's route; keys under it wait for it to open again. Its backend, if its own, is the caller's to close. */
  close(namespace: string): void {
    this.routes = this.routes.filter((r) => r.namespace !== namespace);
  }

  /** The route of an extent key, or undefined when no open namespace covers it. */
  of(key: string): Route | undefined {
    return this.routes.find((r) => key.startsWith(r.namespace));
  }

  /** The backend key of an extent key under `route`. */
  static remoteKey(route: Route, key: string): string {
    return route.remotePrefix + key.slice(route.namespace.length);
  }

  /** The extent key of a backend key under `route`. */
  static localKey(route: Route, remoteKey: string): string {
    return route.namespace + remoteKey.slice(route.remotePrefix.length);
  }

  /** Every backend a route uses, each once. */
  backends(): ObjectBackend[] {
    return [...new Set([this.defaultBackend, ...this.routes.map((r) => r.backend)])];
  }
}
