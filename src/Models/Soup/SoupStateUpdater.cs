using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

public enum StateChange
{
    Add,
    Remove,
}

/// <summary>
/// Adds an ingredient to a soup state or removes one, exactly: the stored block sums gain or lose
/// w·θ, are canonicalised, and the soup is recomputed from them. The new state and soup are the very
/// bytes a rebuild from the resulting ingredient set would give. Costs one pass over the state and one
/// over the model (remove first hashes the model on all cores, to identify it). <see cref="Open"/> reads
/// headers only, so the caller knows <see cref="BytesToRead"/> before any data moves.
/// </summary>
public sealed class SoupStateUpdater : IDisposable
{
    /// <summary>Blocks updated per read of the state and the model.</summary>
    private const int ChunkBlocks = 16;

    private readonly string statePath;
    private readonly string modelPath;
    private readonly StateChange change;
    private readonly long? weight;
    private readonly SafetensorsReader state;
    private readonly SoupStateManifest manifest;
    private readonly SoupIngredient model;
    private readonly SoupOptions options;
    private readonly Dictionary<string, ModelTensor> tensors;
    private readonly Dictionary<string, TensorEntry> entries;

    private SoupStateUpdater(string statePath, string modelPath, StateChange change, long? weight, SafetensorsReader state, SoupStateManifest manifest,
        SoupIngredient model)
    {
        this.statePath = statePath;
        this.modelPath = modelPath;
        this.change = change;
        this.weight = weight;
        this.state = state;
        this.manifest = manifest;
        this.model = model;
        options = new SoupOptions
        {
            Ema = Enum.Parse<EmaPolicy>(manifest.Ema, ignoreCase: true),
            Filter = new TensorFilter(manifest.Include, manifest.Exclude),
        };
        tensors = EmaSelection.Apply(model.Checkpoint.Tensors, options.Ema, modelPath)
            .Where(t => options.Filter.Keeps(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal);
        CheckMatches();
        entries = state.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (string name in manifest.Tensors.Keys)
        {
            if (!entries.ContainsKey(SoupStateManifest.CopyName(name))
                && !(entries.ContainsKey(SoupStateManifest.SumName(name)) && entries.ContainsKey(SoupStateManifest.BlocksName(name))))
            {
                throw new InvalidDataException($"{statePath}: the soup state is damaged: it holds neither the sums nor a copy of '{name}'");
            }
        }
    }

    /// <summary>
    /// The bytes <see cref="Run"/> reads: the state's sums and copies, the model's merged tensors, and for a
    /// removal the model once more (hashed first to tell which ingredient it is).
    /// </summary>
    public long BytesToRead => state.Tensors.Where(t => t.Name.StartsWith("sum/", StringComparison.Ordinal) || t.Name.StartsWith("copy/", StringComparison.Ordinal))
        .Sum(t => t.ByteLength) + (change == StateChange.Remove ? 2 : 1) * Summed().Sum(n => tensors[n].ByteLength);

    /// <summary>Reads the headers of the state and the model and checks that they belong together.</summary>
    public static SoupStateUpdater Open(string statePath, string modelPath, StateChange change, long? weight)
    {
        SafetensorsReader state = SafetensorsReader.Open(statePath);
        SoupIngredient? model = null;
        try
        {
            SoupStateManifest manifest = state.Metadata.TryGetValue(SoupStateManifest.MetadataKey, out string? json)
                ? SoupStateManifest.Parse(json, statePath)
                : throw new InvalidDataException($"{statePath} is not a soup state (no {SoupStateManifest.MetadataKey} metadata); make one with dsoup soup --state");
            model = SoupIngredient.Open(modelPath);
            return new SoupStateUpdater(statePath, modelPath, change, weight, state, manifest, model);
        }
        catch
        {
            model?.Dispose();
            state.Dispose();
            throw;
        }
    }

    /// <summary>Opens, runs and closes: the one call most callers need.</summary>
    public static SoupResult Apply(string statePath, string modelPath, StateChange change, long? weight, string outputPath,
        bool overwrite = false, IProgress<long>? progress = null)
    {
        using SoupStateUpdater update = Open(statePath, modelPath, change, weight);
        return update.Run(outputPath, overwrite, progress);
    }

    /// <summary>Writes the new soup to <paramref name="outputPath"/> and replaces the state, atomically.</summary>
    public SoupResult Run(string outputPath, bool overwrite = false, IProgress<long>? progress = null)
    {
        if (!overwrite && File.Exists(outputPath))
        {
            throw new IOException($"{outputPath} already exists; pass --overwrite to replace it");
        }
        StateIngredient? removed = null;
        string? knownHash = null;
        long w;
        if (change == StateChange.Remove)
        {
            string hash = knownHash = HashOnly(progress);
            removed = manifest.Ingredients.FirstOrDefault(i => i.Hash == hash)
                ?? throw new InvalidDataException($"{modelPath} (content hash {hash}) is not an ingredient of this soup; its ingredients are " +
                    string.Join(", ", manifest.Ingredients.Select(i => $"{i.Name} ({i.Hash})")));
            w = weight ?? removed.Weight;
            if (w != removed.Weight)
            {
                throw new ArgumentException($"{removed.Name} went in with weight {removed.Weight}; it must come out with the same weight, not {w}");
            }
            if (manifest.TotalWeight - w <= 0)
            {
                throw new InvalidDataException($"removing {removed.Name} would leave an empty soup");
            }
        }
        else
        {
            w = weight ?? 1;
            if (w <= 0)
            {
                throw new ArgumentException($"an ingredient's weight must be a positive whole number, not {w}");
            }
        }
        long total = manifest.TotalWeight + (change == StateChange.Add ? w : -w);
        var placeholderIngredient = new StateIngredient(ContentHashes.Placeholder, model.Name, w, SoupRecipe.OwnMetadata(model.Checkpoint.Metadata));
        List<StateIngredient> next = change == StateChange.Add
            ? [.. manifest.Ingredients, placeholderIngredient]
            : manifest.Ingredients.Where(i => !ReferenceEquals(i, removed)).ToList();

        IReadOnlyList<PlannedTensor> plan = OutputPlan();
        var headers = plan.Select(p => new TensorHeader(p.Name, p.Type, p.Shape)).ToList();
        var recipeOptions = options with { Method = next.All(i => i.Weight == 1) ? SoupMethod.Uniform : SoupMethod.Weighted };
        // A removed model's hash is known from the first pass; an added one's is taken while it is read.
        ContentHashes? hashes = knownHash is null ? new ContentHashes() : null;
        string SoupMetadataHash(StateIngredient i) => ReferenceEquals(i, placeholderIngredient) ? ContentHashes.Placeholder : i.Hash;
        SortedDictionary<string, string> Metadata(Func<StateIngredient, string> hash) => SoupRecipe.Metadata(
            SoupPlanner.CommonMetadata(next.Select(i => (IReadOnlyDictionary<string, string>)i.Metadata)),
            SoupRecipe.Json(recipeOptions, next.Select(i => new RecipeIngredient(i.Name, i.Weight, hash(i))).ToList(), null, null));

        string newState = statePath + ".next";
        using var writer = SafetensorsWriter.Create(outputPath, headers, Metadata(SoupMetadataHash));
        var manifestNext = manifest with { TotalWeight = total, Ingredients = next };
        using var stateWriter = StateOutput.Create(newState, manifestNext,
            plan.SelectMany(p => p.Parts).Select(p => (p.Name, IsCopied(p.Name), p.Type, manifest.Tensors[p.Name].Shape)));
        var buffers = new UpdateBuffers();
        using (var writes = new WriteBehind())
        {
            foreach (PlannedTensor output in plan)
            {
                foreach (ModelTensor part in output.Parts)
                {
                    if (entries.TryGetValue(SoupStateManifest.CopyName(part.Name), out TensorEntry? copy))
                    {
                        var bytes = new byte[copy.ByteLength];
                        copy.Read(0, bytes);
                        progress?.Report(bytes.Length);
                        writes.Enqueue(() =>
                        {
                            writer.Write(bytes);
                            stateWriter.WriteCopy(bytes);
                        });
                        continue;
                    }
                    UpdateTensor(part.Name, part.Type, change == StateChange.Add ? w : -w, total, writer, stateWriter, hashes, buffers, writes, progress);
                }
            }
            writes.Drain();
        }
        string modelHash = knownHash ?? hashes!.IngredientHash(0);
        if (change == StateChange.Add && manifest.Ingredients.Any(i => i.Hash == modelHash))
        {
            throw new InvalidDataException($"{modelPath} (content hash {modelHash}) is already an ingredient of this soup; remove it first or give it a larger --weight");
        }
        string FinalHash(StateIngredient i) => ReferenceEquals(i, placeholderIngredient) ? modelHash : i.Hash;
        writer.PatchHeader(SafetensorsWriter.EncodeHeader(headers, Metadata(FinalHash)));
        stateWriter.Commit(next.Select(i => i with { Hash = FinalHash(i) }).ToList());
        writer.Commit();
        File.Move(newState, statePath, overwrite: true);
        return new SoupResult([modelHash], null, 0, plan.Count);
    }

    public void Dispose()
    {
        model.Dispose();
        state.Dispose();
    }

    /// <summary>
    /// One tensor, <see cref="ChunkBlocks"/> blocks at a time: the packed sums and the model's bytes are read,
    /// then every core takes blocks: load, add weight·θ, canonicalise, pack, and store the new mean.
    /// </summary>
    private void UpdateTensor(string name, StorageType outputType, long w, long total, SafetensorsWriter writer, StateOutput stateWriter,
        ContentHashes? hashes, UpdateBuffers buffers, WriteBehind writes, IProgress<long>? progress)
    {
        ModelTensor source = tensors[name];
        TensorEntry sums = entries[SoupStateManifest.SumName(name)];
        BlockTable table = BlockTable.Read(entries[SoupStateManifest.BlocksName(name)], sums, source.ElementCount, statePath, name);
        int modelSize = source.Type.Bits() / 8, outputSize = outputType.Bits() / 8;
        const int BlockElements = SoupMemory.BlockElements;
        for (int first = 0; first < table.Count; first += ChunkBlocks)
        {
            int blocks = Math.Min(ChunkBlocks, table.Count - first);
            long start = (long)first * BlockElements;
            int n = (int)Math.Min((long)blocks * BlockElements, source.ElementCount - start);
            long packedStart = table.Offset(first);
            int packedLength = (int)(table.Offset(first + blocks) - packedStart);
            sums.Read(packedStart, buffers.Stored.AsSpan(0, packedLength));
            source.Read(start * modelSize, buffers.Raw.AsSpan(0, n * modelSize));
            progress?.Report(packedLength + (long)n * modelSize);
            WriteSet set = buffers.Writes.Rent();
            AllCores.For(blocks, b =>
            {
                int from = b * BlockElements, length = Math.Min(BlockElements, n - from);
                BlockScratch scratch = Soup.ChunkBlocks.Scratch;
                BlockAccumulator sum = scratch.Accumulator;
                int block = first + b;
                sum.LoadPacked(buffers.Stored.AsSpan((int)(table.Offset(block) - packedStart)), table.Width(block), length, table.Exponent(block));
                ReadOnlySpan<byte> raw = buffers.Raw.AsSpan(from * modelSize, length * modelSize);
                hashes?.AppendBlock(0, source, name, block, raw);
                string what = $"'{name}' of {model.Name}";
                if (source.Type == StorageType.F16)
                {
                    sum.AddF16(MemoryMarshal.Cast<byte, ushort>(raw), w, scratch.Values, scratch.Floats, what);
                }
                else
                {
                    Span<double> values = scratch.Values.AsSpan(0, length);
                    ValueDecoder.Decode(source.Type, raw, values, scratch.Floats);
                    sum.Add(values, w, what);
                }
                sum.Canonicalize();
                set.Next.Capture(b, sum);
                Soup.ChunkBlocks.StoreMean(outputType, from, sum, total, scratch, set.Output);
            });
            writes.Enqueue(() =>
            {
                writer.Write(set.Output.AsSpan(0, n * outputSize));
                stateWriter.WriteSums(set.Next, blocks);
                buffers.Writes.Return(set);
            });
        }
        writes.Enqueue(stateWriter.EndSums);
    }

    /// <summary>The model's content hash alone (one read, on all cores), to find which ingredient it is before changing anything.</summary>
    private string HashOnly(IProgress<long>? progress)
    {
        var hashes = new ContentHashes();
        foreach (string name in Summed())
        {
            ModelTensor t = tensors[name];
            int size = t.Type.Bits() / 8;
            AllCores.For(ContentHashes.BlockCount(t.ElementCount), block =>
            {
                long element = (long)block * SoupMemory.BlockElements;
                int count = (int)Math.Min(SoupMemory.BlockElements, t.ElementCount - element);
                hashes.ReadBlock(0, t, name, element, Soup.ChunkBlocks.Scratch.Raw.AsSpan(0, count * size), progress);
            });
        }
        return hashes.IngredientHash(0);
    }

    /// <summary>The tensors the state keeps sums of (the rest are copies).</summary>
    private IEnumerable<string> Summed() => manifest.Tensors.Keys.Where(n => !IsCopied(n));

    private bool IsCopied(string name) => entries.ContainsKey(SoupStateManifest.CopyName(name));

    private void CheckMatches()
    {
        var missing = manifest.Tensors.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var extra = tensors.Keys.Where(k => !manifest.Tensors.ContainsKey(k)).ToList();
        var shapes = manifest.Tensors.Where(t => tensors.TryGetValue(t.Key, out ModelTensor? m) && !m.Shape.SequenceEqual(t.Value.Shape)).Select(t => t.Key).ToList();
        var problems = new List<string>();
        if (missing.Count > 0)
        {
            problems.Add($"it lacks {missing.Count} tensors of the soup, e.g. {string.Join(", ", missing.Take(3).Select(n => $"'{n}'"))}");
        }
        if (extra.Count > 0)
        {
            problems.Add($"it has {extra.Count} tensors the soup does not, e.g. {string.Join(", ", extra.Take(3).Select(n => $"'{n}'"))}");
        }
        if (shapes.Count > 0)
        {
            problems.Add($"{shapes.Count} tensors have other shapes, e.g. {string.Join(", ", shapes.Take(3).Select(n => $"'{n}' {tensors[n].ShapeText}"))}");
        }
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{modelPath} does not match the soup state {statePath}: {string.Join("; ", problems)}");
        }
    }

    /// <summary>The soup file's tensors, as the manifest recorded them when the soup was made.</summary>
    private IReadOnlyList<PlannedTensor> OutputPlan() =>
        manifest.Output.Select(o => new PlannedTensor(o.Name, o.Shape, o.Parts.Select(p =>
        {
            StateTensor t = manifest.Tensors[p];
            return new ModelTensor(p, null, p, StorageTypeOf(t.DType), t.Shape, []);
        }).ToList())).ToList();

    private static StorageType StorageTypeOf(string name) =>
        StorageTypes.TryParse(name, out StorageType type) ? type : throw new InvalidDataException($"the soup state names an unknown dtype '{name}'");

    private const int ChunkElements = ChunkBlocks * SoupMemory.BlockElements;

    /// <summary>
    /// The buffers of the update, reused across chunks and tensors: the chunk read from the state and the
    /// model, and three sets of results (one being computed, two queued for the write-behind thread).
    /// </summary>
    private sealed class UpdateBuffers
    {
        public byte[] Stored { get; } = new byte[ChunkElements * 16];

        public byte[] Raw { get; } = new byte[ChunkElements * 8];

        public BufferPool<WriteSet> Writes { get; } = new(3, () => new WriteSet());
    }

    /// <summary>One chunk's results: the new soup's bytes and the new state's packed blocks.</summary>
    private sealed class WriteSet
    {
        public byte[] Output { get; } = new byte[ChunkElements * 8];

        public StateBuffers Next { get; } = new(ChunkElements);
    }
}
