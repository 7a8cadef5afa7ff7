using System.Diagnostics;

namespace Dsoup.Engine.Checkpoints;

/// <summary>How fast checkpoint files can be read: the ceiling every streaming job is measured against.</summary>
public static class ReadSpeed
{
    private const int Block = 8 << 20;

    /// <summary>
    /// Read rate of the given checkpoints' files (bytes/s), sampling at most <paramref name="limit"/> bytes
    /// in 8 MiB blocks on all cores: the ceiling a streaming job over them can reach in their current
    /// page-cache state.
    /// </summary>
    public static double Ceiling(IEnumerable<string> paths, long limit)
    {
        var clock = Stopwatch.StartNew();
        long done = ReadBlocks(FilesOf(paths), limit);
        return done / Math.Max(1e-6, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The files of checkpoints given as files or folders (a folder: the .safetensors files inside it).</summary>
    public static List<string> FilesOf(IEnumerable<string> paths) =>
        paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*.safetensors", SearchOption.AllDirectories) : [p]).ToList();

    /// <summary>Reads a file start to end in 8 MiB blocks and discards the bytes: the ceiling a streaming job can reach.</summary>
    public static long ReadWholeFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var buffer = new byte[Block];
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
    public static long ReadAllParallel(IReadOnlyList<string> paths) => ReadBlocks(paths, long.MaxValue);

    /// <summary>Reads the files' first <paramref name="limit"/> bytes (in file order) as 8 MiB blocks on all cores.</summary>
    private static long ReadBlocks(IReadOnlyList<string> paths, long limit)
    {
        var handles = paths.Select(p => File.OpenHandle(p, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess)).ToList();
        try
        {
            var blocks = new List<(Microsoft.Win32.SafeHandles.SafeFileHandle Handle, long Offset)>();
            long planned = 0;
            foreach (var handle in handles)
            {
                for (long offset = 0, length = RandomAccess.GetLength(handle); offset < length && planned < limit; offset += Block, planned += Block)
                {
                    blocks.Add((handle, offset));
                }
            }
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
