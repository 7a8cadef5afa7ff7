using System.Diagnostics;

namespace Dsoup.Engine.Checkpoints;

/// <summary>How fast checkpoint files can be read: the ceiling every streaming job is measured against.</summary>
public static class ReadSpeed
{
    /// <summary>
    /// Read rate of the given checkpoints' files (bytes/s), sampling at most <paramref name="limit"/> bytes:
    /// the ceiling a streaming job over them can reach in their current page-cache state.
    /// </summary>
    public static double Ceiling(IEnumerable<string> paths, long limit)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*.safetensors", SearchOption.AllDirectories) : [p]).ToList();
        var buffer = new byte[8 << 20];
        long done = 0;
        var clock = Stopwatch.StartNew();
        foreach (string file in files)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            for (long offset = 0; done < limit; )
            {
                int read = RandomAccess.Read(handle, buffer, offset);
                if (read <= 0)
                {
                    break;
                }
                offset += read;
                done += read;
            }
        }
        return done / Math.Max(1e-6, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Reads a file start to end in 8 MiB blocks and discards the bytes: the ceiling a streaming job can reach.</summary>
    public static long ReadWholeFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var buffer = new byte[8 << 20];
        long offset = 0;
        int read;
        while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
        {
            offset += read;
        }
        return offset;
    }

    /// <summary>
    /// Reads every file in 8 MiB blocks spread over all cores and discards the bytes: the ceiling for a job
    /// that reads with every core (a single stream can be slower than the page cache allows).
    /// </summary>
    public static long ReadAllParallel(IReadOnlyList<string> paths)
    {
        const int Block = 8 << 20;
        var handles = paths.Select(p => File.OpenHandle(p, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess)).ToList();
        try
        {
            var blocks = handles.SelectMany(h => Enumerable.Range(0, (int)((RandomAccess.GetLength(h) + Block - 1) / Block)).Select(i => (Handle: h, Offset: (long)i * Block))).ToList();
            long total = 0;
            Parallel.ForEach(blocks, () => new byte[Block], (block, _, buffer) =>
            {
                Interlocked.Add(ref total, RandomAccess.Read(block.Handle, buffer, block.Offset));
                return buffer;
            }, _ => { });
            return total;
        }
        finally
        {
            handles.ForEach(h => h.Dispose());
        }
    }
}
