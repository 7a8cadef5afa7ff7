namespace Dsoup.Engine.Checkpoints;

/// <summary>A checkpoint opened for reading: its tensors (in file order) and its string metadata.</summary>
public interface ICheckpointReader : IDisposable
{
    /// <summary>The file or folder it came from, for messages.</summary>
    string Source { get; }

    /// <summary>The file's format, for reports: safetensors, safetensors (sharded), torch zip.</summary>
    string Format { get; }

    IReadOnlyList<TensorEntry> Tensors { get; }

    IReadOnlyDictionary<string, string> Metadata { get; }
}
