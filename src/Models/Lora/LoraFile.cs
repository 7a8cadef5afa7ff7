using System.IO.Hashing;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Lora;

/// <summary>
/// A LoRA file, opened and validated: every module has both factors with shapes that fit each other and
/// a finite α. Variants that are not plain LoRA (LoHa, LoKr, DoRA, Tucker "lora_mid") are refused by
/// name rather than misread.
/// </summary>
public sealed class LoraFile : IDisposable
{
    private static readonly string[] UnsupportedMarkers = ["hada_", "lokr_", "dora_scale", "lora_mid", ".oft_", "lora_magnitude_vector"];

    private readonly ICheckpointReader reader;
    private readonly Lazy<string> hash;

    private LoraFile(string path, ICheckpointReader reader, IReadOnlyList<LoraModule> modules)
    {
        Path = path;
        this.reader = reader;
        Modules = modules;
        hash = new Lazy<string>(ContentHash);
    }

    public string Path { get; }

    public string Name => System.IO.Path.GetFileName(Path);

    public IReadOnlyList<LoraModule> Modules { get; }

    public IReadOnlyDictionary<string, string> Metadata => reader.Metadata;

    public LoraConvention Convention => Modules.Count > 0 ? Modules[0].Convention : LoraConvention.Kohya;

    /// <summary>XxHash128 of every tensor's name, shape, dtype and bytes in file order: what a recipe records.</summary>
    public string Hash => hash.Value;

    public static LoraFile Open(string path)
    {
        ICheckpointReader reader = CheckpointFiles.Open(path);
        try
        {
            return new LoraFile(path, reader, Group(path, reader));
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private static List<LoraModule> Group(string path, ICheckpointReader reader)
    {
        var parts = new Dictionary<string, (LoraConvention Convention, string Module, TensorEntry? Down, TensorEntry? Up, TensorEntry? Alpha)>(StringComparer.Ordinal);
        var others = new List<string>();
        foreach (TensorEntry entry in reader.Tensors)
        {
            string? unsupported = UnsupportedMarkers.FirstOrDefault(m => entry.Name.Contains(m, StringComparison.Ordinal));
            if (unsupported is not null)
            {
                throw new CheckpointFormatException(path, "lora-variant",
                    $"tensor '{entry.Name}' belongs to a LoRA variant dsoup does not apply ({unsupported.Trim('.', '_')}); only plain LoRA/LoCon (down/up/alpha) is supported");
            }
            var parsed = LoraKeys.Parse(entry.Name);
            if (parsed is not { } p)
            {
                others.Add(entry.Name);
                continue;
            }
            string id = LoraKeys.Id(p.Module, p.Convention);
            var current = parts.GetValueOrDefault(id, (p.Convention, p.Module, null, null, null));
            if (current.Convention != p.Convention)
            {
                throw new CheckpointFormatException(path, "lora-keys", $"module '{id}' is named in both kohya and PEFT conventions");
            }
            current = p.Role switch
            {
                LoraRole.Down => current with { Down = current.Down is null ? entry : throw Duplicate(path, entry) },
                LoraRole.Up => current with { Up = current.Up is null ? entry : throw Duplicate(path, entry) },
                _ => current with { Alpha = current.Alpha is null ? entry : throw Duplicate(path, entry) },
            };
            parts[id] = current;
        }
        if (parts.Count == 0)
        {
            throw new CheckpointFormatException(path, "lora-keys",
                $"no LoRA factors found (expected kohya '….lora_down.weight'/'….lora_up.weight' or PEFT '….lora_A.weight'/'….lora_B.weight'); first keys: {string.Join(", ", others.Take(3))}");
        }
        if (others.Count > 0)
        {
            throw new CheckpointFormatException(path, "lora-keys", $"{others.Count} tensors are not LoRA factors, e.g. '{others[0]}'; is this a LoRA file?");
        }
        var modules = new List<LoraModule>();
        foreach (var (id, part) in parts.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            modules.Add(Validate(path, id, part.Convention, part.Module, part.Down, part.Up, part.Alpha));
        }
        return modules;
    }

    private static LoraModule Validate(string path, string id, LoraConvention convention, string module, TensorEntry? down, TensorEntry? up, TensorEntry? alpha)
    {
        if (down is null || up is null)
        {
            throw new CheckpointFormatException(path, "lora-pair", $"module '{module}' has {(down is null ? "no down (A)" : "no up (B)")} factor");
        }
        foreach (TensorEntry factor in new[] { down, up })
        {
            if (!factor.Type.IsFloatingPoint() || factor.Shape.Length is not (2 or 4))
            {
                throw new CheckpointFormatException(path, "lora-shape", $"'{factor.Name}' is {factor.Type.Name()} {factor.ShapeText}; a LoRA factor is a 2-D (linear) or 4-D (conv) float tensor");
            }
        }
        long rank = down.Shape[0];
        bool upFits = up.Shape[1] == rank && (up.Shape.Length == 2 || (up.Shape[2] == 1 && up.Shape[3] == 1));
        if (rank == 0 || !upFits)
        {
            throw new CheckpointFormatException(path, "lora-shape", $"module '{module}': down {down.ShapeText} and up {up.ShapeText} do not form B·A (B must be out × r or out × r × 1 × 1)");
        }
        double? alphaValue = alpha is null ? null : ReadScalar(path, alpha);
        if (alphaValue is double a && (!double.IsFinite(a) || a == 0))
        {
            throw new CheckpointFormatException(path, "lora-alpha", $"module '{module}' has α = {a}");
        }
        return new LoraModule(id, module, convention, down, up, alphaValue, path);
    }

    private static double ReadScalar(string path, TensorEntry entry)
    {
        if (entry.ElementCount != 1 || !entry.Type.IsFloatingPoint())
        {
            throw new CheckpointFormatException(path, "lora-alpha", $"'{entry.Name}' is {entry.Type.Name()} {entry.ShapeText}; α is one float");
        }
        return Soup.ValueDecoder.ReadAll(entry)[0];
    }

    private static CheckpointFormatException Duplicate(string path, TensorEntry entry) =>
        new(path, "lora-keys", $"'{entry.Name}' duplicates another factor of the same module");

    private string ContentHash()
    {
        var hasher = new XxHash128();
        var buffer = new byte[1 << 20];
        foreach (TensorEntry entry in reader.Tensors)
        {
            hasher.Append(System.Text.Encoding.UTF8.GetBytes($"{entry.Name}|{entry.Type.Name()}|{entry.ShapeText}|"));
            for (long offset = 0; offset < entry.ByteLength; offset += buffer.Length)
            {
                int length = (int)Math.Min(buffer.Length, entry.ByteLength - offset);
                entry.Read(offset, buffer.AsSpan(0, length));
                hasher.Append(buffer.AsSpan(0, length));
            }
        }
        return Convert.ToHexStringLower(hasher.GetCurrentHash());
    }

    public void Dispose() => reader.Dispose();
}
