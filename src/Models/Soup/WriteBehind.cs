using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Dsoup.Models.Soup;

/// <summary>
/// Runs file writes on a background thread, in order, so that merging the next chunk overlaps writing
/// the last one (on slow page-cache allocation, writes cost as much as the merge itself). Buffers
/// travel with their write and come back to a pool afterwards, so memory stays bounded.
/// </summary>
internal sealed class WriteBehind : IDisposable
{
    private readonly BlockingCollection<Action> queue = new(2);
    private readonly Task worker;
    private ExceptionDispatchInfo? failure;
    private int pending;

    public WriteBehind() => worker = Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning);

    /// <summary>Queues a write; blocks while two writes are already waiting. Rethrows an earlier write's failure.</summary>
    public void Enqueue(Action write)
    {
        failure?.Throw();
        Interlocked.Increment(ref pending);
        queue.Add(write);
    }

    /// <summary>Waits until every queued write is done (before a flush that a journal relies on).</summary>
    public void Drain()
    {
        SpinWait spin = default;
        while (Volatile.Read(ref pending) > 0 && failure is null)
        {
            spin.SpinOnce(sleep1Threshold: 20);
        }
        failure?.Throw();
    }

    private void Run()
    {
        foreach (Action write in queue.GetConsumingEnumerable())
        {
            try
            {
                if (failure is null)
                {
                    write();
                }
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
            Interlocked.Decrement(ref pending);
        }
    }

    public void Dispose()
    {
        queue.CompleteAdding();
        worker.Wait();
        queue.Dispose();
    }
}

/// <summary>A small pool of reusable arrays, blocking when all are out (bounds memory).</summary>
internal sealed class BufferPool<T>(int count, Func<T> create)
{
    private readonly BlockingCollection<T> free = new(new ConcurrentQueue<T>(Enumerable.Range(0, count).Select(_ => create())));

    public T Rent() => free.Take();

    public void Return(T buffer) => free.Add(buffer);
}
