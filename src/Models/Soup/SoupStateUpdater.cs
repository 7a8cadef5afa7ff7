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
/// over the model (remove reads the model once more first, to identify it by content hash).
/// </summary>
public static class SoupStateUpdater
{
    public static SoupResult Apply(string statePath, string modelPath, StateChange change, long? weight, string outputPath,
        bool overwrite = false, IProgress<long>? progress = null)
    {
        if (!overwrite && File.Exists(outputPath))
        {
            throw new IOException($"{outputPath} already exists; pass --overwrite to replace it");
        }
        using SafetensorsReader state = SafetensorsReader.Open(statePath);
        SoupStateManifest manifest = state.Metadata.TryGetValue(SoupStateManifest.MetadataKey, out string? json)
            ? SoupStateManifest.Parse(json, statePath)
            : throw new InvalidDataException($"{statePath} is not a soup state (no {SoupStateManifest.MetadataKey} metadata); make one with dsoup soup --state");
        using SoupIngredient model = SoupIngredient.Open(modelPath);
        var options = new SoupOptions
        {
            Ema = Enum.Parse<EmaPolicy>(manifest.Ema, ignoreCase: true),
            Filter = new TensorFilter(manifest.Include, manifest.Exclude),
        };
        Dictionary<string, ModelTensor> tensors = EmaSelection.Apply(model.Checkpoint.Tensors, options.Ema, modelPath)
            .Where(t => options.Filter.Keeps(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal);
        CheckMatches(manifest, tensors, modelPath, statePath);

        var entries = state.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        bool Copied(string name) => entries.ContainsKey(SoupStateManifest.CopyName(name));
        StateIngredient? removed = null;
        string? knownHash = null;
        long w;
        if (change == StateChange.Remove)
        {
            string hash = knownHash = HashOnly(manifest, tensors, Copied);
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

        IReadOnlyList<PlannedTensor> plan = OutputPlan(manifest);
        var headers = plan.Select(p => new TensorHeader(p.Name, StorageTypeOf(manifest.Tensors[p.Parts[0].Name].DType), p.Shape)).ToList();
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
            plan.SelectMany(p => p.Parts).Select(p => (p.Name, Copied(p.Name), StorageTypeOf(manifest.Tensors[p.Name].DType), manifest.Tensors[p.Name].Shape)));
        foreach (PlannedTensor output in plan)
        {
            foreach (ModelTensor part in output.Parts)
            {
                if (entries.TryGetValue(SoupStateManifest.CopyName(part.Name), out TensorEntry? copy))
                {
                    var bytes = new byte[copy.ByteLength];
                    copy.Read(0, bytes);
                    writer.Write(bytes);
                    stateWriter.WriteCopy(bytes);
                    continue;
                }
                UpdateTensor(part.Name, tensors[part.Name], entries, manifest, change == StateChange.Add ? w : -w, total, writer, stateWriter, hashes, progress);
            }
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

    private static void UpdateTensor(string name, ModelTensor model, Dictionary<string, TensorEntry> entries, SoupStateManifest manifest, long weight, long total,
        SafetensorsWriter writer, StateOutput stateWriter, ContentHashes? hashes, IProgress<long>? progress)
    {
        TensorEntry sums = entries[SoupStateManifest.SumName(name)];
        TensorEntry exponents = entries[SoupStateManifest.ExponentName(name)];
        var exps = new int[exponents.ElementCount];
        exponents.Read(0, MemoryMarshal.AsBytes(exps.AsSpan()));
        StorageType outputType = StorageTypeOf(manifest.Tensors[name].DType);
        long count = model.ElementCount;
        const int Chunk = SoupMemory.BlockElements * 16;
        var stored = new Int128[Math.Min(Chunk, count)];
        int modelSize = model.Type.Bits() / 8, outputSize = outputType.Bits() / 8;
        var raw = new byte[stored.Length * modelSize];
        var output = new byte[stored.Length * outputSize];
        var newSums = new Int128[stored.Length];
        var newExps = new int[(stored.Length + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements];
        for (long start = 0; start < count; start += Chunk)
        {
            int n = (int)Math.Min(Chunk, count - start);
            sums.Read(start * 16, MemoryMarshal.AsBytes(stored.AsSpan(0, n)));
            model.Read(start * modelSize, raw.AsSpan(0, n * modelSize));
            hashes?.AppendRun(0, model, name, start, raw.AsSpan(0, n * modelSize));
            progress?.Report(n * (16L + modelSize));
            int blocks = (n + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements;
            long firstBlock = start / SoupMemory.BlockElements;
            AllCores.For(blocks, b =>
            {
                int from = b * SoupMemory.BlockElements, length = Math.Min(SoupMemory.BlockElements, n - from);
                BlockScratch scratch = ChunkBlocks.Scratch;
                BlockAccumulator sum = scratch.Accumulator;
                sum.Load(stored.AsSpan(from, length), exps[firstBlock + b]);
                Span<double> values = scratch.Values.AsSpan(0, length);
                ValueDecoder.Decode(model.Type, raw.AsSpan(from * modelSize, length * modelSize), values, scratch.Floats);
                sum.Add(values, weight, $"'{name}' of the model");
                sum.Canonicalize();
                sum.Store(newSums.AsSpan(from, length));
                newExps[b] = sum.Exponent;
                ChunkBlocks.StoreMean(outputType, from, sum, total, scratch, output);
            });
            writer.Write(output.AsSpan(0, n * outputSize));
            stateWriter.WriteSums(newSums.AsSpan(0, n), newExps.AsSpan(0, blocks));
        }
        stateWriter.EndSums();
    }

    /// <summary>The model's content hash alone (one read), to find which ingredient it is before changing anything.</summary>
    private static string HashOnly(SoupStateManifest manifest, Dictionary<string, ModelTensor> tensors, Func<string, bool> copied)
    {
        var hashes = new ContentHashes();
        foreach (string name in manifest.Tensors.Keys.Where(n => !copied(n)))
        {
            ModelTensor t = tensors[name];
            int size = t.Type.Bits() / 8;
            var buffer = new byte[Math.Min(t.ByteLength, 64L * SoupMemory.BlockElements * size)];
            for (long start = 0; start < t.ElementCount; start += buffer.Length / size)
            {
                int n = (int)Math.Min(buffer.Length / size, t.ElementCount - start);
                t.Read(start * size, buffer.AsSpan(0, n * size));
                hashes.AppendRun(0, t, name, start, buffer.AsSpan(0, n * size));
            }
        }
        return hashes.IngredientHash(0);
    }

    private static void CheckMatches(SoupStateManifest manifest, Dictionary<string, ModelTensor> tensors, string modelPath, string statePath)
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

    private static IReadOnlyList<PlannedTensor> OutputPlan(SoupStateManifest manifest) =>
        SoupPlanner.OutputFile(manifest.Tensors.Select(t => (t.Key, StorageTypeOf(t.Value.DType), t.Value.Shape)),
            Enum.Parse<CheckpointLayout>(manifest.Layout, ignoreCase: true), Enum.Parse<TextEncoderKind>(manifest.TextEncoder, ignoreCase: true));

    private static StorageType StorageTypeOf(string name) =>
        StorageTypes.TryParse(name, out StorageType type) ? type : throw new InvalidDataException($"the soup state names an unknown dtype '{name}'");
}
