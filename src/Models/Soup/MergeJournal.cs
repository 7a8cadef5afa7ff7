using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Dsoup.Models.Soup;

/// <summary>One output tensor known to be on disk: where it ends, the hash of its bytes, and its sources' tensor hashes.</summary>
internal sealed record JournalEntry(int Tensor, long End, string Hash, Dictionary<string, Dictionary<int, string>> Sources);

/// <summary>
/// The resume journal beside a merge's partial output ("OUT.partial.journal", JSON lines). The first line
/// fingerprints the job (the exact output header and each input's files, sizes and times); each further
/// line records a finished output tensor after the data up to it was flushed to disk. A restarted job
/// with the same fingerprint re-hashes those tensors from the partial file and continues after them.
/// </summary>
internal sealed class MergeJournal : IDisposable
{
    private readonly StreamWriter writer;

    private MergeJournal(string path, StreamWriter writer)
    {
        Path = path;
        this.writer = writer;
    }

    public string Path { get; }

    public static string PathFor(string output) => output + ".partial.journal";

    public static string Fingerprint(byte[] header, IEnumerable<SoupIngredient> sources)
    {
        var hash = new XxHash128();
        hash.Append(header);
        foreach (SoupIngredient source in sources)
        {
            hash.Append(Encoding.UTF8.GetBytes(System.IO.Path.GetFullPath(source.Path)));
            IEnumerable<string> files = Directory.Exists(source.Path)
                ? Directory.EnumerateFiles(source.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                : [source.Path];
            foreach (string file in files)
            {
                var info = new FileInfo(file);
                hash.Append(Encoding.UTF8.GetBytes($"{info.Name}:{info.Length}:{info.LastWriteTimeUtc.Ticks};"));
            }
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    /// <summary>The finished tensors of an earlier run of this very job, or none.</summary>
    public static List<JournalEntry> Load(string output, string fingerprint)
    {
        string path = PathFor(output);
        if (!File.Exists(path))
        {
            return [];
        }
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != fingerprint)
        {
            return [];
        }
        var entries = new List<JournalEntry>();
        foreach (string line in lines.Skip(1))
        {
            try
            {
                entries.Add(JsonSerializer.Deserialize<JournalEntry>(line) ?? throw new JsonException("empty"));
            }
            catch (JsonException)
            {
                break; // a line cut short by the crash: everything before it is still good
            }
        }
        return entries;
    }

    public static MergeJournal Start(string output, string fingerprint, IEnumerable<JournalEntry> kept)
    {
        string path = PathFor(output);
        var writer = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read));
        writer.WriteLine(fingerprint);
        foreach (JournalEntry entry in kept)
        {
            writer.WriteLine(JsonSerializer.Serialize(entry));
        }
        writer.Flush();
        return new MergeJournal(path, writer);
    }

    /// <summary>Records tensors whose bytes the caller has already flushed to disk.</summary>
    public void Record(IEnumerable<JournalEntry> entries)
    {
        foreach (JournalEntry entry in entries)
        {
            writer.WriteLine(JsonSerializer.Serialize(entry));
        }
        writer.Flush();
        ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
    }

    public void Delete()
    {
        writer.Dispose();
        File.Delete(Path);
    }

    public void Dispose() => writer.Dispose();
}
