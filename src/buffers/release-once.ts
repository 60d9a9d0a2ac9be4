// Releases of lent buffers may come twice (a transport that sends and also
// aborts, a reader that releases in a finally): only the first may count.

/** `release`, run the first time the returned function is called and never again. */
export function releaseOnce(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

/** The release of bytes nobody lent: nothing to give back. */
export const noRelease = (): void => undefined;
