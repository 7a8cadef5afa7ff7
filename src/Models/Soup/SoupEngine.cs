using System.Diagnostics;
using System.IO.Hashing;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Devices;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Runs a <see cref="SoupPlan"/>: tensor-major, chunk by chunk, every input's chunk read ahead on a
/// background thread while the previous one is merged on every core. The output's exact header is
/// written first (ingredient hashes as fixed-width placeholders, filled in at the end), tensors are
/// streamed in order into "OUT.partial" and renamed into place when complete. A journal beside it lets a
/// crashed merge resume where it stopped, to the same bytes. Memory stays within the plan's budget.
/// </summary>
public static class SoupEngine
{
    private const long JournalEveryBytes = 1L << 30;

    /// <summary>Output buffers in flight: one being merged into, the others queued for writing.</summary>
    private const int WriteBuffers = 3;
    private static readonly TimeSpan JournalEvery = TimeSpan.FromSeconds(10);

    public static SoupResult Run(SoupPlan plan, SoupRunOptions run)
    {
        if (plan.Report.Conflicts.Count > 0)
        {
            throw new InvalidDataException("the soup cannot be made:\n  - " + string.Join("\n  - ", plan.Report.Conflicts));
        }
        if (!run.Overwrite && (File.Exists(run.OutputPath) || (run.StatePath is not null && File.Exists(run.StatePath))))
        {
            throw new IOException($"{(File.Exists(run.OutputPath) ? run.OutputPath : run.StatePath)} already exists; pass --overwrite to replace it");
        }
        if (run.StatePath is not null && plan.Loras is { PatchedTensors: > 0 })
        {
            throw new ArgumentException("a soup state keeps exact sums of whole models; make the state without LoRAs and apply them to the finished soup (dsoup lora apply)");
        }
        var hashes = new ContentHashes();
        long[]? exactWeights = plan.UsesExactSums ? plan.Weights.Select(w => (long)w).ToArray() : null;
        ITensorMerger merger = CreateMerger(plan, exactWeights, hashes, run);
        using var mergerResources = merger as IDisposable; // device buffers of the GPU merger
        if (run.StatePath is not null && exactWeights is null)
        {
            throw new ArgumentException("a soup state (--state) keeps exact sums: use the uniform method or whole-number weights");
        }
        int n = plan.Inputs.Count;
        var sources = plan.Inputs.Concat(plan.Base is null ? [] : [plan.Base]).Concat(plan.Fallback is null ? [] : [plan.Fallback]).ToList();
        var headers = plan.Output.Select(p => new TensorHeader(p.Name, plan.Merged(p.Parts[0].Name).OutputType, p.Shape)).ToList();
        string placeholder = ContentHashes.Placeholder;
        var provisional = Metadata(plan, _ => placeholder, placeholder, placeholder);
        byte[] header = SafetensorsWriter.EncodeHeader(headers, provisional);

        bool journaled = run.StatePath is null;
        string fingerprint = MergeJournal.Fingerprint(header, sources);
        List<JournalEntry> resumed = journaled ? VerifiedEntries(run.OutputPath, fingerprint, header, headers) : [];
        foreach (JournalEntry entry in resumed)
        {
            RestoreHashes(plan, entry, hashes);
        }
        int first = resumed.Count;
        long chunkElements = plan.Report.ChunkElements;
        SafetensorsWriter writer = first > 0
            ? SafetensorsWriter.Resume(run.OutputPath, headers, provisional, resumed[^1].End)
            : SafetensorsWriter.Create(run.OutputPath, headers, provisional);
        MergeJournal? journal = journaled ? MergeJournal.Start(run.OutputPath, fingerprint, resumed) : null;
        StateOutput? state = null;
        bool interrupted = false;
        try
        {
            if (run.StatePath is not null)
            {
                state = StateOutput.Create(run.StatePath, StateManifest(plan, exactWeights!, _ => placeholder), StateOutput.TensorsOf(plan.Output, plan.Merged));
            }
            int outputSize = plan.Tensors.Count == 0 ? 4 : plan.Tensors.Max(t => t.OutputType.Bits() / 8);
            var outputs = new BufferPool<byte[]>(WriteBuffers, () => new byte[chunkElements * outputSize]);
            var states = state is null ? null : new BufferPool<StateBuffers>(WriteBuffers, () => new StateBuffers(chunkElements));
            var scratch = new float[chunkElements];
            using var writes = new WriteBehind();
            using var reader = new ChunkReader(Jobs(plan, first, chunkElements, merger), n + 1, hashes, run.Progress);
            var pending = new List<JournalEntry>();
            long sinceFlush = 0;
            long produced = first > 0 ? resumed[^1].End : 0; // data bytes handed to the writer (it writes behind)
            var clock = Stopwatch.StartNew();
            for (int t = first; t < plan.Output.Count; t++)
            {
                var tensorHash = new XxHash128();
                var partHashes = new Dictionary<string, Dictionary<int, string>>(StringComparer.Ordinal);
                foreach (ModelTensor part in plan.Output[t].Parts)
                {
                    MergedTensor m = plan.Merged(part.Name);
                    if (!m.IsCopied)
                    {
                        merger.Begin(m);
                    }
                    foreach (long start in ChunkStarts(m, chunkElements))
                    {
                        ChunkData chunk = reader.Next();
                        int count = chunk.Job.Count, length = count * (m.OutputType.Bits() / 8);
                        byte[] output = outputs.Rent();
                        StateBuffers? sums = null;
                        if (m.IsCopied)
                        {
                            StorageConversion.Convert(chunk.Job.Sources[0].Type, chunk.Bytes(0), m.OutputType, output.AsSpan(0, length), scratch.AsSpan(0, count));
                        }
                        else
                        {
                            sums = states?.Rent();
                            if (merger is ExactMeanMerger exact)
                            {
                                exact.State = sums;
                            }
                            merger.Merge(chunk, output);
                        }
                        int blocks = ChunkBlocks.Count(chunk);
                        reader.Release(chunk);
                        tensorHash.Append(output.AsSpan(0, length));
                        sinceFlush += length;
                        produced += length;
                        bool copied = m.IsCopied;
                        writes.Enqueue(() =>
                        {
                            writer.Write(output.AsSpan(0, length));
                            if (state is not null)
                            {
                                if (copied)
                                {
                                    state.WriteCopy(output.AsSpan(0, length));
                                }
                                else
                                {
                                    state.WriteSums(sums!, blocks);
                                    states!.Return(sums!);
                                }
                            }
                            outputs.Return(output);
                        });
                    }
                    if (state is not null && !m.IsCopied)
                    {
                        writes.Enqueue(state.EndSums);
                    }
                    partHashes[m.Name] = m.IsCopied ? [] : SourceIds(plan, m).ToDictionary(id => id, id => Convert.ToHexStringLower(hashes.TensorHash(id, m.Name) ?? []));
                }
                pending.Add(new JournalEntry(t, produced, Convert.ToHexStringLower(tensorHash.GetCurrentHash()), partHashes));
                bool interruptNow = run.InterruptAfterTensors is int stop && t + 1 - first >= stop;
                if (journal is not null && (sinceFlush >= JournalEveryBytes || clock.Elapsed >= JournalEvery || interruptNow))
                {
                    writes.Drain();
                    writer.FlushToDisk();
                    journal.Record(pending);
                    pending.Clear();
                    sinceFlush = 0;
                    clock.Restart();
                }
                if (interruptNow)
                {
                    if (run.InterruptAbruptly)
                    {
                        Environment.FailFast($"dsoup: simulated crash after {t + 1} tensors (test hook)");
                    }
                    interrupted = true;
                    throw new SoupInterruptedException(t + 1);
                }
            }

            writes.Drain();
            var inputHashes = Enumerable.Range(0, n).Select(hashes.IngredientHash).ToList();
            string? baseHash = plan.Base is null ? null : hashes.IngredientHash(n);
            string? fallbackHash = plan.Fallback is null ? null : hashes.IngredientHash(n + 1);
            writer.PatchHeader(SafetensorsWriter.EncodeHeader(headers, Metadata(plan, i => inputHashes[i], baseHash ?? placeholder, fallbackHash ?? placeholder)));
            state?.Commit(StateIngredients(plan, exactWeights!, i => inputHashes[i]));
            writer.Commit();
            journal?.Delete();
            return new SoupResult(inputHashes, baseHash, first, plan.Output.Count, (merger as GpuTiesMerger)?.TensorsOnDevice ?? 0);
        }
        catch
        {
            if (interrupted)
            {
                writer.Abandon();
                state?.Dispose(); // a state is not resumable: only the soup is journaled
                journal?.Dispose();
            }
            else
            {
                writer.Dispose();
                state?.Dispose();
                journal?.Delete();
            }
            throw;
        }
    }

    /// <summary>
    /// The bytes a run reads, for progress: the plan's count, less the second read of each TIES tensor a GPU
    /// takes (the device reads every source once; the plan counts the CPU merger's selection and merge reads).
    /// </summary>
    public static long BytesToRead(SoupPlan plan, SoupRunOptions run)
    {
        if (plan.Options.Method != SoupMethod.Ties || run.Device is null or { Kind: DeviceKind.Cpu })
        {
            return plan.Report.BytesToRead;
        }
        long readOnce = plan.Tensors.Where(t => !t.IsCopied && GpuTiesMerger.Takes(t, plan.Loras, run.DeviceMinimumElements))
            .Sum(t => t.Inputs.Sum(i => i!.ByteLength) + t.Base!.ByteLength);
        return plan.Report.BytesToRead - readOnce;
    }

    private static ITensorMerger CreateMerger(SoupPlan plan, long[]? exactWeights, ContentHashes hashes, SoupRunOptions run)
    {
        if (exactWeights is not null)
        {
            return new ExactMeanMerger(exactWeights, plan.Inputs, hashes, run.Progress);
        }
        if (plan.Options.Method != SoupMethod.Ties)
        {
            return new LinearMerger(plan.Options, plan.Weights, plan.Inputs, plan.Base, plan.Loras);
        }
        // The GPU merger's two staging buffers take a quarter of the budget; the chunk buffers it leaves
        // unread (the CPU merger's raw source bytes) were sized for more than that.
        return run.Device is { Kind: not DeviceKind.Cpu } gpu
            ? new GpuTiesMerger(plan.Options, plan.Weights, plan.Inputs, plan.Base!, plan.Loras, gpu, plan.Options.MaxMemory / 8, run.DeviceMinimumElements, hashes, run.Progress)
            : new TiesMerger(plan.Options, plan.Weights, plan.Inputs, plan.Base!, plan.Loras, run.Progress);
    }

    /// <summary>Source tensors of a merged tensor and their ids (inputs 0..N−1, base N, fallback N+1).</summary>
    private static (List<ModelTensor> Sources, List<int> Ids) Sources(SoupPlan plan, MergedTensor m)
    {
        int n = plan.Inputs.Count;
        if (m.IsCopied)
        {
            bool fromFallback = m.Inputs.Any(i => i is null);
            return ([m.CopySource], [fromFallback ? n + 1 : 0]);
        }
        var sources = m.Inputs.Select(i => i!).ToList();
        var ids = Enumerable.Range(0, n).ToList();
        if (plan.Options.Method.NeedsBase())
        {
            sources.Add(m.Base!);
            ids.Add(n);
        }
        return (sources, ids);
    }

    private static IEnumerable<int> SourceIds(SoupPlan plan, MergedTensor m) => Sources(plan, m).Ids;

    private static IEnumerable<long> ChunkStarts(MergedTensor m, long chunkElements)
    {
        for (long start = 0; start < m.ElementCount; start += chunkElements)
        {
            yield return start;
        }
    }

    private static IEnumerable<ChunkJob> Jobs(SoupPlan plan, int first, long chunkElements, ITensorMerger merger)
    {
        for (int t = first; t < plan.Output.Count; t++)
        {
            foreach (ModelTensor part in plan.Output[t].Parts)
            {
                MergedTensor m = plan.Merged(part.Name);
                var (sources, ids) = Sources(plan, m);
                bool mergerReads = !m.IsCopied && merger.ReadsItself(m);
                foreach (long start in ChunkStarts(m, chunkElements))
                {
                    yield return new ChunkJob(m, sources, ids, start, (int)Math.Min(chunkElements, m.ElementCount - start), mergerReads);
                }
            }
        }
    }

    internal static SortedDictionary<string, string> Metadata(SoupPlan plan, Func<int, string> inputHash, string baseHash, string fallbackHash)
    {
        var ingredients = plan.Inputs.Select((input, i) => new RecipeIngredient(input.Name, plan.Weights[i], inputHash(i))).ToList();
        string recipe = SoupRecipe.Json(plan.Options, ingredients,
            plan.Base is null ? null : new RecipeIngredient(plan.Base.Name, 1, baseHash),
            plan.Fallback is null ? null : new RecipeIngredient(plan.Fallback.Name, 1, fallbackHash),
            plan.LoraInputs.Select(l => new RecipeIngredient(l.Name, l.Strength, l.File.Hash)).ToList());
        return SoupRecipe.Metadata(plan.CommonMetadata, recipe);
    }

    private static SoupStateManifest StateManifest(SoupPlan plan, long[] weights, Func<int, string> hash) =>
        new(SoupStateManifest.CurrentVersion,
            plan.Options.Ema.ToString().ToLowerInvariant(),
            [.. plan.Options.Filter.Include],
            [.. plan.Options.Filter.Exclude],
            weights.Sum(),
            new SortedDictionary<string, StateTensor>(plan.Tensors.ToDictionary(t => t.Name, t => new StateTensor(t.OutputType.Name(), t.Shape)), StringComparer.Ordinal),
            StateOutput.OutputTable(plan.Output),
            StateIngredients(plan, weights, hash));

    private static List<StateIngredient> StateIngredients(SoupPlan plan, long[] weights, Func<int, string> hash) =>
        plan.Inputs.Select((input, i) => new StateIngredient(hash(i), input.Name, weights[i], SoupRecipe.OwnMetadata(input.Checkpoint.Metadata))).ToList();

    /// <summary>The journal entries of an earlier run of this job whose bytes in the partial file still hash the same.</summary>
    private static List<JournalEntry> VerifiedEntries(string output, string fingerprint, byte[] header, List<TensorHeader> headers)
    {
        string partial = output + SafetensorsWriter.PartialSuffix;
        List<JournalEntry> entries = File.Exists(partial) ? MergeJournal.Load(output, fingerprint) : [];
        var verified = new List<JournalEntry>();
        if (entries.Count == 0)
        {
            return verified;
        }
        using var stream = new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[8 << 20];
        long start = 0;
        foreach (JournalEntry entry in entries)
        {
            if (entry.Tensor != verified.Count || entry.End < start)
            {
                break;
            }
            var hash = new XxHash128();
            stream.Position = header.Length + start;
            for (long left = entry.End - start; left > 0;)
            {
                int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read <= 0)
                {
                    return verified;
                }
                hash.Append(buffer.AsSpan(0, read));
                left -= read;
            }
            if (Convert.ToHexStringLower(hash.GetCurrentHash()) != entry.Hash)
            {
                break;
            }
            verified.Add(entry);
            start = entry.End;
        }
        return verified;
    }

    private static void RestoreHashes(SoupPlan plan, JournalEntry entry, ContentHashes hashes)
    {
        foreach (var (tensor, bySource) in entry.Sources)
        {
            MergedTensor m = plan.Merged(tensor);
            var (sources, ids) = Sources(plan, m);
            for (int s = 0; s < ids.Count; s++)
            {
                if (bySource.TryGetValue(ids[s], out string? hex) && hex.Length > 0)
                {
                    hashes.Restore(ids[s], tensor, sources[s].Type, sources[s].Shape, Convert.FromHexString(hex));
                }
            }
        }
    }
}
