/** Awaits a promise that must reject and returns what it rejected with, typed for assertions. */
export async function rejectionOf<E = Error & { code?: string; field?: string }>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
