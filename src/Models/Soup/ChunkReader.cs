using System.Collections.Concurrent;
using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Elements [Start, Start + Count) of one merged tensor, to be read from each of its sources (unless the
/// merger reads them itself, block by block, in which case the reader passes the job through untouched).
/// </summary>
internal sealed record ChunkJob(MergedTensor Tensor, IReadOnlyList<ModelTensor> Sources, IReadOnlyList<int> SourceIds, long Start, int Count, bool ReadByMerger);

/// <summary>Raw bytes of one job, one buffer per source.</summary>
internal sealed class ChunkData(int sources)
{
    public byte[][] Raw { get; } = new byte[sources][];

    public ChunkJob Job { get; set; } = null!;

    public Span<byte> Bytes(int source) => Raw[source].AsSpan(0, (int)(Job.Count * (long)(Job.Sources[source].Type.Bits() / 8)));
}

/// <summary>
/// Reads jobs ahead of the merge on a background thread with positional reads into two recycled sets
/// of buffers (one being read while the other is merged), hashing every source's bytes as they pass.
/// Memory is bounded by the two sets, whatever the model size or number of jobs.
/// </summary>
internal sealed class ChunkReader : IDisposable
{
    private readonly BlockingCollection<ChunkData> ready = new(1);
    private readonly BlockingCollection<ChunkData> free = new(2);
    private readonly CancellationTokenSource cancel = new();
    private readonly Task worker;

    public ChunkReader(IEnumerable<ChunkJob> jobs, int maxSources, ContentHashes? hashes, IProgress<long>? progress)
    {
        free.Add(new ChunkData(maxSources));
        free.Add(new ChunkData(maxSources));
        worker = Task.Factory.StartNew(() => Run(jobs, hashes, progress), cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The next job's bytes, in job order; throws what the reader hit.</summary>
    public ChunkData Next()
    {
        if (ready.TryTake(out ChunkData? data, Timeout.Infinite, cancel.Token))
        {
            return data;
        }
        try
        {
            worker.Wait();
        }
        catch (AggregateException ex)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException!);
        }
        throw new InvalidOperationException("the merge asked for more chunks than it planned");
    }

    public void Release(ChunkData data) => free.Add(data);

    private void Run(IEnumerable<ChunkJob> jobs, ContentHashes? hashes, IProgress<long>? progress)
    {
        try
        {
            foreach (ChunkJob job in jobs)
            {
                ChunkData data = free.Take(cancel.Token);
                data.Job = job;
                for (int s = 0; s < (job.ReadByMerger ? 0 : job.Sources.Count); s++)
                {
                    ModelTensor source = job.Sources[s];
                    int size = source.Type.Bits() / 8;
                    long bytes = job.Count * (long)size;
                    if (data.Raw[s] is null || data.Raw[s].Length < bytes)
                    {
                        data.Raw[s] = GC.AllocateUninitializedArray<byte>((int)bytes);
                    }
                    Span<byte> buffer = data.Raw[s].AsSpan(0, (int)bytes);
                    source.Read(job.Start * size, buffer);
                    if (!job.Tensor.IsCopied)
                    {
                        // Content hashes cover the merged tensors only, the same for every source.
                        hashes?.AppendRun(job.SourceIds[s], source, job.Tensor.Name, job.Start, buffer);
                    }
                    progress?.Report(bytes);
                }
                ready.Add(data, cancel.Token);
            }
            ready.CompleteAdding();
        }
        catch (OperationCanceledException)
        {
            ready.CompleteAdding();
        }
        catch
        {
            ready.CompleteAdding();
            throw;
        }
    }

    public void Dispose()
    {
        cancel.Cancel();
        try
        {
            worker.Wait();
        }
        catch (AggregateException)
        {
            // the failure was (or will be) reported through Next
        }
        cancel.Dispose();
        ready.Dispose();
        free.Dispose();
    }
}
