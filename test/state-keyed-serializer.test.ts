import { KeyedSerializer } from '../src/state/keyed-serializer.js';

describe('KeyedSerializer', () => {
  it('runs tasks of one key one at a time, in arrival order, and other keys in parallel', async () => {
    const serializer = new KeyedSerializer();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = serializer.run('a', async () => {
      events.push('a1 start');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push('a1 end');
    });
    const second = serializer.run('a', async () => void events.push('a2'));
    const other = serializer.run('b', async () => void events.push('b1'));
    await other;
    await Promise.resolve();
    expect(events).toEqual(['a1 start', 'b1']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('keeps going after a failed task and forgets drained keys', async () => {
    const serializer = new KeyedSerializer();
    await expect(serializer.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(serializer.run('a', async () => 42)).resolves.toBe(42);
    await new Promise((resolve) => setImmediate(resolve));
    expect(serializer.size).toBe(0);
  });
});
