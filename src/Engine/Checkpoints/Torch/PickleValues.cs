namespace Dsoup.Engine.Checkpoints.Torch;

/// <summary>A module-level name the pickle refers to; only allow-listed ones are ever created.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
}

/// <summary>A pickled dict or OrderedDict, in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

/// <summary>A storage in the archive: data/KEY holds ElementCount elements of TypeName (FloatStorage, HalfStorage, ...).</summary>
internal sealed record StorageRef(string TypeName, string Key, long ElementCount);

/// <summary>A tensor view of a storage, as torch._utils._rebuild_tensor_v2 describes it.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);
