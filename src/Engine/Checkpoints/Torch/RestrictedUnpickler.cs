using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Dsoup.Engine.Checkpoints.Torch;

/// <summary>
/// A pickle machine that understands exactly what a PyTorch state dict needs: primitive values,
/// tuples, lists, dicts and OrderedDicts, typed storages loaded by persistent id, and tensors
/// rebuilt from them. Any other global is refused by name the moment the pickle mentions it;
/// nothing from the file is ever executed. Every read is bounds-checked.
/// </summary>
internal sealed class RestrictedUnpickler
{
    public static readonly IReadOnlySet<string> StorageTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage",
        "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
    };

    private static readonly IReadOnlySet<string> AllowedCalls = new HashSet<string>(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "_codecs.encode",
    };

    private const int MaxStack = 1 << 20;

    private static readonly object Mark = new();

    private readonly byte[] data;
    private readonly string where;
    private readonly List<object?> stack = [];
    private readonly Dictionary<long, object?> memo = [];
    private readonly Dictionary<string, StorageRef> storages = new(StringComparer.Ordinal);
    private int position;

    private RestrictedUnpickler(byte[] data, string where)
    {
        this.data = data;
        this.where = where;
    }

    /// <summary>Runs the pickle to its STOP and returns the object it built.</summary>
    public static object? Load(byte[] pickle, string where) => new RestrictedUnpickler(pickle, where).Run();

    private object? Run()
    {
        while (true)
        {
            int at = position;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                   // PROTO
                case 0x95: ReadBytes(8); break;                                 // FRAME (length only)
                case (byte)'.': return stack.Count == 1 ? Pop() : throw Fail(at, "STOP with a malformed stack");
                case (byte)'}': Push(new PickleDict()); break;                  // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;              // EMPTY_LIST
                case (byte)')': Push(new PickleTuple([])); break;              // EMPTY_TUPLE
                case (byte)'(': Push(Mark); break;                              // MARK
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'K': Push((long)ReadByte()); break;                  // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;
                case 0x8A: Push(ReadLong(ReadByte(), at)); break;               // LONG1
                case 0x8B: Push(ReadLong(ReadLength(4, at), at)); break;        // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;
                case (byte)'X': Push(ReadString(ReadLength(4, at))); break;     // BINUNICODE
                case 0x8C: Push(ReadString(ReadByte())); break;                 // SHORT_BINUNICODE
                case 0x8D: Push(ReadString(ReadLength(8, at))); break;          // BINUNICODE8
                case (byte)'U': Push(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break;
                case (byte)'T': Push(Encoding.Latin1.GetString(ReadBytes(ReadLength(4, at)))); break;
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;   // SHORT_BINBYTES
                case (byte)'B': Push(ReadBytes(ReadLength(4, at)).ToArray()); break;
                case 0x8E: Push(ReadBytes(ReadLength(8, at)).ToArray()); break; // BINBYTES8
                case (byte)'q': Memoize(ReadByte()); break;                     // BINPUT
                case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))); break;
                case 0x94: Memoize(memo.Count); break;                          // MEMOIZE
                case (byte)'h': Push(Recall(ReadByte(), at)); break;            // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at)); break;
                case (byte)'0': Pop(); break;                                   // POP
                case (byte)'1': PopToMark(at); break;                           // POP_MARK
                case (byte)'2': Push(Peek(at)); break;                          // DUP
                case (byte)'t': Push(new PickleTuple(PopToMark(at))); break;
                case 0x85: Push(new PickleTuple([Pop()])); break;
                case 0x86: { object? b = Pop(), a = Pop(); Push(new PickleTuple([a, b])); break; }
                case 0x87: { object? c = Pop(), b = Pop(), a = Pop(); Push(new PickleTuple([a, b, c])); break; }
                case (byte)'a': { object? v = Pop(); As<List<object?>>(Peek(at), at, "APPEND").Add(v); break; }
                case (byte)'e': { object?[] items = PopToMark(at); As<List<object?>>(Peek(at), at, "APPENDS").AddRange(items); break; }
                case (byte)'s': { object? v = Pop(), k = Pop(); As<PickleDict>(Peek(at), at, "SETITEM").Items.Add(new(k, v)); break; }
                case (byte)'u': SetItems(at); break;
                case (byte)'c': Push(Global(ReadLine(at), ReadLine(at), at)); break; // GLOBAL
                case 0x93: { object? name = Pop(), module = Pop(); Push(Global(As<string>(module, at, "STACK_GLOBAL"), As<string>(name, at, "STACK_GLOBAL"), at)); break; }
                case (byte)'R': { object? args = Pop(), callable = Pop(); Push(Call(callable, As<PickleTuple>(args, at, "REDUCE").Items, at)); break; }
                case 0x81: { object? args = Pop(), cls = Pop(); Push(Call(cls, As<PickleTuple>(args, at, "NEWOBJ").Items, at)); break; }
                case (byte)'b': Build(Pop(), Peek(at), at); break;
                case (byte)'Q': Push(PersistentLoad(Pop(), at)); break;         // BINPERSID
                default:
                    throw Fail(at, $"unsupported pickle opcode 0x{op:X2}; a state dict does not need it");
            }
        }
    }

    private PickleGlobal Global(string module, string name, int at)
    {
        var global = new PickleGlobal(module, name);
        bool storage = module == "torch" && StorageTypes.Contains(name);
        if (!storage && !AllowedCalls.Contains(global.FullName))
        {
            throw Fail(at, "RefusedGlobal", $"refused global '{global.FullName}': only the globals a tensor state dict needs are allowed " +
                "(this file may run code when loaded by Python; dsoup never does). Re-save it as safetensors with a trusted tool if you need it");
        }
        return global;
    }

    private object? Call(object? callable, object?[] args, int at)
    {
        if (callable is not PickleGlobal global)
        {
            throw Fail(at, $"REDUCE on {Describe(callable)}, which is not a callable global");
        }
        switch (global.FullName)
        {
            case "collections.OrderedDict":
                return args.Length == 0 ? new PickleDict() : throw Fail(at, "OrderedDict called with arguments");
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 4)
                {
                    throw Fail(at, $"{global.Name} needs (storage, offset, size, stride), got {args.Length} arguments");
                }
                return new TensorRef(As<StorageRef>(args[0], at, global.Name), As<long>(args[1], at, global.Name),
                    Longs(args[2], at), Longs(args[3], at));
            case "torch._utils._rebuild_parameter":
                return args.Length >= 1 ? As<TensorRef>(args[0], at, global.Name) : throw Fail(at, "_rebuild_parameter without data");
            case "_codecs.encode":
                return args.Length >= 1 && args[0] is string text ? Encoding.Latin1.GetBytes(text) : throw Fail(at, "_codecs.encode needs a string");
            default:
                throw Fail(at, $"'{global.FullName}' cannot be called");
        }
    }

    private void Build(object? state, object? target, int at)
    {
        switch (target)
        {
            case PickleDict dict when state is PickleDict extra:
                dict.Items.AddRange(extra.Items);
                break;
            case PickleDict or TensorRef when state is null or PickleDict or PickleTuple:
                break; // OrderedDict/parameter state (e.g. _metadata) carries no tensor data
            default:
                throw Fail(at, $"BUILD on {Describe(target)} is not supported");
        }
    }

    private object PersistentLoad(object? pid, int at)
    {
        object?[] items = As<PickleTuple>(pid, at, "persistent id").Items;
        if (items.Length < 5 || items[0] is not "storage" || items[1] is not PickleGlobal type || items[2] is not string key || items[4] is not long count)
        {
            throw Fail(at, "a persistent id must be ('storage', StorageType, key, location, element count)");
        }
        if (!storages.TryGetValue(key, out StorageRef? storage))
        {
            storage = new StorageRef(type.Name, key, count);
            storages[key] = storage;
        }
        return storage;
    }

    private void SetItems(int at)
    {
        object?[] items = PopToMark(at);
        if (items.Length % 2 != 0)
        {
            throw Fail(at, "SETITEMS with an odd number of items");
        }
        PickleDict dict = As<PickleDict>(Peek(at), at, "SETITEMS");
        for (int i = 0; i < items.Length; i += 2)
        {
            dict.Items.Add(new(items[i], items[i + 1]));
        }
    }

    private long[] Longs(object? value, int at) =>
        As<PickleTuple>(value, at, "size/stride").Items.Select(v => As<long>(v, at, "size/stride")).ToArray();

    private object ReadLong(int length, int at)
    {
        ReadOnlySpan<byte> bytes = ReadBytes(length);
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : throw Fail(at, "integer beyond 64 bits");
    }

    private int ReadLength(int width, int at)
    {
        ulong length = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)) : BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
        return length <= (ulong)(data.Length - position) ? (int)length : throw Fail(at, $"a length of {length} runs past the end of the pickle");
    }

    private string ReadString(int length) => Encoding.UTF8.GetString(ReadBytes(length));

    private string ReadLine(int at)
    {
        int end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0)
        {
            throw Fail(at, "GLOBAL without a newline-terminated name");
        }
        string line = Encoding.UTF8.GetString(data, position, end - position);
        position = end + 1;
        return line;
    }

    private byte ReadByte() => ReadBytes(1)[0];

    private ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > data.Length - position)
        {
            throw Fail(position, $"the pickle ends early (needed {count} more bytes)");
        }
        var span = new ReadOnlySpan<byte>(data, position, count);
        position += count;
        return span;
    }

    private void Memoize(long index)
    {
        if (stack.Count == 0)
        {
            throw Fail(position, "memoize on an empty stack");
        }
        if (memo.Count >= MaxStack)
        {
            throw Fail(position, "too many memo entries");
        }
        memo[index] = stack[^1];
    }

    private object? Recall(long index, int at) => memo.TryGetValue(index, out object? value) ? value : throw Fail(at, $"memo entry {index} was never stored");

    private void Push(object? value)
    {
        if (stack.Count >= MaxStack)
        {
            throw Fail(position, "the pickle stack grew beyond its limit");
        }
        stack.Add(value);
    }

    private object? Pop()
    {
        if (stack.Count == 0 || ReferenceEquals(stack[^1], Mark))
        {
            throw Fail(position, "pop from an empty stack");
        }
        object? value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek(int at) => stack.Count > 0 && !ReferenceEquals(stack[^1], Mark) ? stack[^1] : throw Fail(at, "an opcode needs a value on the stack");

    private object?[] PopToMark(int at)
    {
        int mark = stack.FindLastIndex(v => ReferenceEquals(v, Mark));
        if (mark < 0)
        {
            throw Fail(at, "no MARK on the stack");
        }
        object?[] items = stack.Skip(mark + 1).ToArray();
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    private T As<T>(object? value, int at, string what) =>
        value is T typed ? typed : throw Fail(at, $"{what} expected a {typeof(T).Name}, found {Describe(value)}");

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleGlobal g => $"global '{g.FullName}'",
        _ => value.GetType().Name,
    };

    private CheckpointFormatException Fail(int at, string detail) => Fail(at, "InvalidPickle", detail);

    private CheckpointFormatException Fail(int at, string rule, string detail) => new(where, rule, $"at byte {at}: {detail}");
}
