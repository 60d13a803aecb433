/**
 * Runs tasks one at a time per key, in arrival order. The support profile is PUT-only (read, merge,
 * write), so two concurrent partial updates of one partner would otherwise read the same state and
 * the second write would drop the first one's fields. Entries are removed once their queue drains,
 * so the map holds only partners with an update in flight.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task); // `previous` never rejects: it is a settled tail
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
