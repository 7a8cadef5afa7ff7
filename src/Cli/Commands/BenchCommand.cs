using Dsoup.Engine.Checkpoints;
using System.CommandLine;
using System.Globalization;
using Dsoup.Kernels.Gpu;
using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Models.Conversion;
using Dsoup.Models.Layouts;
using Dsoup.Models.Soup;

namespace Dsoup.Cli.Commands;

/// <summary>
/// Measurements that are quoted in benchmarks/RESULTS.md: each compares the job with a baseline
/// measured in the same run (medians of several repeats), because these machines are shared.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("bench", "Measure throughput against a baseline run in the same process (medians of repeats).");
        command.Subcommands.Add(Convert(context));
        command.Subcommands.Add(Gemm(context));
        command.Subcommands.Add(Merge(context));
        command.Subcommands.Add(BenchOpsCommand.Create(context));
        command.Subcommands.Add(State(context));
        return command;
    }

    private static Command State(CliContext context)
    {
        var inputs = new Argument<string[]>("inputs") { Arity = ArgumentArity.OneOrMore, Description = "Checkpoints: all but the last make the soup state; the last is added and removed." };
        var repeat = new Option<int>("--repeat") { Description = "Repetitions of each measurement.", DefaultValueFactory = _ => 3 };
        var scratch = new Option<string?>("--scratch") { Description = "Folder for the state and soups (default: beside the first input; /dev/shm keeps disk writes out)." };
        var command = new Command("state",
            "Make a soup state of all inputs but the last, then time adding and removing the last one against, in the same run, a plain read of the state " +
            "and the model and a plain write of a state-sized file; report the state's size against the soup's.")
        {
            inputs, repeat, scratch,
        };
        command.SetAction(result => context.Run(() =>
        {
            string[] paths = result.GetValue(inputs)!.Select(Path.GetFullPath).ToArray();
            if (paths.Length < 2)
            {
                throw new ArgumentException("bench state needs at least two checkpoints: the soup's ingredients, then the one to add and remove");
            }
            int n = Math.Max(1, result.GetValue(repeat));
            string folder = result.GetValue(scratch) ?? Path.GetDirectoryName(paths[0])!;
            string prefix = Path.Combine(folder, $".dsoup-bench-{Environment.ProcessId}");
            string state = prefix + ".state", soup = prefix + ".safetensors", changed = prefix + "-changed.safetensors", copy = prefix + "-copy.state";
            string model = paths[^1];
            try
            {
                var ingredients = paths[..^1].Select(p => SoupIngredient.Open(p)).ToList();
                try
                {
                    SoupEngine.Run(SoupPlanner.Plan(ingredients, null, null, new SoupOptions()), new SoupRunOptions(soup) { StatePath = state, Overwrite = true });
                }
                finally
                {
                    ingredients.ForEach(i => i.Dispose());
                }
                long stateBytes = new FileInfo(state).Length, soupBytes = new FileInfo(soup).Length;
                var files = ReadSpeed.FilesOf([state, model]);
                files.ForEach(f => ReadSpeed.ReadWholeFile(f)); // warm the page cache so every measurement starts alike
                double baseline = Measure.MedianSeconds(n, () =>
                {
                    ReadSpeed.ReadAllParallel(files);
                    WriteZeros(copy, stateBytes);
                });
                // Add then remove: the state is back where it started after each pair.
                var adds = new List<double>();
                var removes = new List<double>();
                for (int i = 0; i < n; i++)
                {
                    adds.Add(Measure.Seconds(() => SoupStateUpdater.Apply(state, model, StateChange.Add, null, changed, overwrite: true)));
                    removes.Add(Measure.Seconds(() => SoupStateUpdater.Apply(state, model, StateChange.Remove, null, changed, overwrite: true)));
                }
                double add = Measure.Median(adds), remove = Measure.Median(removes);
                long modelBytes = files.Where(f => f != state).Sum(f => new FileInfo(f).Length);
                var o = context.Output;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"state of {paths.Length - 1} ingredients: {Units.Bytes(stateBytes)} for a {Units.Bytes(soupBytes)} soup = {(double)stateBytes / soupBytes:F2}× the soup; model {Units.Bytes(modelBytes)}; median of {n}, page cache warm, files in {folder}"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline: read state + model on all cores, write a state-sized file + fsync   {baseline,6:F2} s"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soup add (new state and new soup written)                                  {add,6:F2} s   {baseline / add:F2}× the baseline's speed"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soup remove (hashes the model first, then as add)                          {remove,6:F2} s   {baseline / remove:F2}× the baseline's speed"));
            }
            finally
            {
                foreach (string f in new[] { state, soup, changed, copy })
                {
                    File.Delete(f);
                }
            }
            return 0;
        }));
        return command;
    }

    private static Command Merge(CliContext context)
    {
        var inputs = new Argument<string[]>("inputs") { Arity = ArgumentArity.OneOrMore, Description = "The checkpoints to soup (uniform)." };
        var repeat = new Option<int>("--repeat") { Description = "Repetitions of each measurement.", DefaultValueFactory = _ => 3 };
        var maxMemory = new Option<string>("--max-memory") { Description = "The merge's memory budget.", DefaultValueFactory = _ => "256MiB" };
        var scratch = new Option<string?>("--scratch") { Description = "Folder for the soup (default: beside the first input; /dev/shm keeps disk writes out)." };
        var method = new Option<string>("--method") { Description = "uniform (exact), or ties (the first input is the base; runs on --device).", DefaultValueFactory = _ => "uniform" };
        method.AcceptOnlyFromAmong("uniform", "ties");
        var command = new Command("merge",
            "Soup the inputs and compare with, measured in the same run: a plain read of the same files (one stream, and all cores; the faster is the read ceiling) and a plain write of the soup's size.")
        {
            inputs, repeat, maxMemory, scratch, method,
        };
        command.SetAction(result => context.Run(() =>
        {
            string[] paths = result.GetValue(inputs)!.Select(Path.GetFullPath).ToArray();
            int n = Math.Max(1, result.GetValue(repeat));
            string folder = result.GetValue(scratch) ?? Path.GetDirectoryName(paths[0])!;
            string output = Path.Combine(folder, $".dsoup-bench-{Environment.ProcessId}.safetensors");
            long budget = Units.ParseSize(result.GetValue(maxMemory)!);
            bool ties = result.GetValue(method) == "ties";
            Device? device = ties ? context.Device(result) : null;
            if (ties && paths.Length < 3)
            {
                throw new ArgumentException("bench merge --method ties needs a base and at least two inputs");
            }
            var files = ReadSpeed.FilesOf(paths);
            long inputBytes = files.Sum(f => new FileInfo(f).Length);
            foreach (string file in files)
            {
                ReadSpeed.ReadWholeFile(file); // warm the page cache so every measurement starts alike
            }
            try
            {
                double stream = Measure.MedianSeconds(n, () => files.ForEach(f => ReadSpeed.ReadWholeFile(f)));
                double parallel = Measure.MedianSeconds(n, () => ReadSpeed.ReadAllParallel(files));
                double read = Math.Min(stream, parallel); // the stronger baseline
                double merge = Measure.MedianSeconds(n, () => Soup(paths, output, budget, ties, device));
                long outputBytes = new FileInfo(output).Length;
                double write = Measure.MedianSeconds(n, () => WriteZeros(output, outputBytes));
                var o = context.Output;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{files.Count} inputs, {Units.Bytes(inputBytes)} in, {Units.Bytes(outputBytes)} out, budget {Units.Bytes(budget)}, median of {n}, page cache warm, soup written to {folder}"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read, one stream per file in turn          {inputBytes / stream / 1e9,7:F2} GB/s  {stream,6:F2} s"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read, 8 MiB blocks on all cores            {inputBytes / parallel / 1e9,7:F2} GB/s  {parallel,6:F2} s"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read ceiling (the faster of the two)      {inputBytes / read / 1e9,7:F2} GB/s  {read,6:F2} s"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"write ceiling (soup-sized write + fsync)  {outputBytes / write / 1e9,7:F2} GB/s  {write,6:F2} s"));
                string what = ties ? $"merge (ties, density 0.2, on {device!.Name})".PadRight(41) : "merge (uniform soup, exact)              ";
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}{inputBytes / merge / 1e9,7:F2} GB/s  {merge,6:F2} s"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"merge / read ceiling = {read / merge:F2}; IO lower bound max(read, write) = {Math.Max(read, write):F2} s, merge reaches {Math.Max(read, write) / merge:P0} of it"));
                if (device?.Backend is IlgpuBackend accelerator && accelerator.Accelerator.AcceleratorType != ILGPU.Runtime.AcceleratorType.CPU)
                {
                    // A device-side merge moves every input byte over the bus: that copy is its own ceiling.
                    using var copy = new UploadBandwidth(accelerator, 256 << 20);
                    copy.CopyOnce();
                    double upload = copy.Bytes / Measure.MedianSeconds(5, copy.CopyOnce);
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"host-to-device copy, page-locked, 256 MiB  {upload / 1e9,7:F2} GB/s"));
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"merge / host-to-device ceiling = {inputBytes / merge / upload:P0}"));
                }
            }
            finally
            {
                File.Delete(output);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>A uniform soup of every path, or TIES of paths[1..] on the base paths[0].</summary>
    private static void Soup(string[] paths, string output, long budget, bool ties, Device? device)
    {
        var ingredients = paths.Select(p => SoupIngredient.Open(p)).ToList();
        try
        {
            SoupPlan plan = ties
                ? SoupPlanner.Plan(ingredients[1..], ingredients[0], null, new SoupOptions { Method = SoupMethod.Ties, MaxMemory = budget })
                : SoupPlanner.Plan(ingredients, null, null, new SoupOptions { MaxMemory = budget });
            SoupEngine.Run(plan, new SoupRunOptions(output) { Overwrite = true, Device = device });
        }
        finally
        {
            ingredients.ForEach(i => i.Dispose());
        }
    }

    private static Command Convert(CliContext context)
    {
        var input = new Argument<string>("input") { Description = "The checkpoint file to convert." };
        var dtype = Choices.DType("Target dtype (default f32).");
        var repeat = new Option<int>("--repeat") { Description = "Repetitions of each measurement.", DefaultValueFactory = _ => 3 };
        var scratch = new Option<string?>("--scratch") { Description = "Folder for the converted copies (default: beside the input)." };
        var command = new Command("convert", "Convert a checkpoint (default to f32) and compare its read rate with a plain sequential read of the same file.")
        {
            input, dtype, repeat, scratch,
        };
        command.SetAction(result => context.Run(() =>
        {
            string path = Path.GetFullPath(result.GetValue(input)!);
            int n = Math.Max(1, result.GetValue(repeat));
            string folder = result.GetValue(scratch) ?? Path.GetDirectoryName(path)!;
            string output = Path.Combine(folder, $".dsoup-bench-{Environment.ProcessId}.safetensors");
            var options = new ConversionOptions(null, Kernels.DTypeInfo.Parse(result.GetValue(dtype) ?? "f32"), EmaPolicy.Keep, Overwrite: true);
            long bytes = new FileInfo(path).Length;
            ReadSpeed.ReadWholeFile(path); // warm the page cache so both measurements start from the same state
            try
            {
                double read = Measure.MedianSeconds(n, () => ReadSpeed.ReadWholeFile(path));
                double convert = Measure.MedianSeconds(n, () =>
                {
                    using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
                    CheckpointConverter.Convert(checkpoint, output, options);
                });
                long written = new FileInfo(output).Length;
                double writeOnly = Measure.MedianSeconds(n, () => WriteZeros(output, written));
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"input {Units.Bytes(bytes)}, output {Units.Bytes(written)} ({options.DType}), median of {n}, page cache warm"));
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plain read            {bytes / read / 1e6,9:F0} MB/s"));
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plain write + fsync   {written / writeOnly / 1e6,9:F0} MB/s (of output)"));
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"convert               {bytes / convert / 1e6,9:F0} MB/s (of input)   {read / convert:F2}× the read ceiling"));
            }
            finally
            {
                File.Delete(output);
            }
            return 0;
        }));
        return command;
    }

    private static void WriteZeros(string path, long bytes)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var block = new byte[8 << 20];
        for (long done = 0; done < bytes; done += block.Length)
        {
            stream.Write(block, 0, (int)Math.Min(block.Length, bytes - done));
        }
        stream.Flush(flushToDisk: true);
    }

    private static Command Gemm(CliContext context)
    {
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated M×N×K (or one number for a cube).", DefaultValueFactory = _ => "256,1024,4096x320x320" };
        var dtype = Choices.DType("Operand dtype (default f32).");
        var repeat = new Option<int>("--repeat") { Description = "Timed repetitions per size (after one warm-up).", DefaultValueFactory = _ => 10 };
        var command = new Command("gemm", "Time C = A·B on the chosen --device and print GFLOP/s (median).") { sizes, dtype, repeat };
        command.SetAction(result => context.Run(() =>
        {
            Device device = context.Device(result);
            DType type = DTypeInfo.Parse(result.GetValue(dtype) ?? "f32");
            context.Output.WriteLine($"device {device.Name}: {device.Description}");
            // 16-bit products on an accelerator with tensor cores are timed on both paths, in the same process.
            var ilgpu = device.Backend as IlgpuBackend;
            bool original = ilgpu?.TensorCores ?? false;
            bool[] paths = ilgpu is not null && type != DType.F32 && IlgpuBackend.HasTensorCores(ilgpu.Accelerator) ? [true, false] : [original];
            foreach (string size in result.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int[] d = size.Split('x').Select(int.Parse).ToArray();
                (int m, int n, int k) = d.Length == 1 ? (d[0], d[0], d[0]) : (d[0], d[1], d[2]);
                using Tensor a = Tensor.RandUniform(new Shape(m, k), 1, type, device);
                using Tensor b = Tensor.RandUniform(new Shape(k, n), 2, type, device);
                void Once()
                {
                    using Tensor c = Ops.MatMul(a, b);
                    device.Synchronize();
                }
                var rates = new List<double>();
                foreach (bool tensorCores in paths)
                {
                    ilgpu?.TensorCores = tensorCores;
                    Once();
                    double seconds = Measure.MedianSeconds(Math.Max(1, result.GetValue(repeat)), Once);
                    rates.Add(2.0 * m * n * k / seconds / 1e9);
                    string path = ilgpu is null || type == DType.F32 ? "" : tensorCores ? " tensor cores" : " CUDA cores";
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m}×{n}×{k} {type.Name()}{path}: {rates[^1],8:F1} GFLOP/s ({seconds * 1e3:F2} ms)"));
                }
                if (rates.Count == 2)
                {
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m}×{n}×{k} {type.Name()}: tensor cores {rates[0] / rates[1]:F1}× the CUDA cores"));
                }
            }
            ilgpu?.TensorCores = original;
            return 0;
        }));
        return command;
    }
}
