using Dsoup.Engine.Checkpoints;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Layouts;
using Dsoup.Models.Soup;

namespace Dsoup.Cli.Commands;

internal static class SoupCommand
{
    public static Command Create(CliContext context)
    {
        var inputs = new Argument<string[]>("inputs") { Arity = ArgumentArity.ZeroOrMore, Description = "The models to merge (any form dsoup inspect reads; layouts may differ)." };
        var output = new Option<string?>("--output", "-o") { Description = "The soup to write (.safetensors)." };
        var method = new Option<string?>("--method") { Description = "uniform (default, exact), weighted, task-arithmetic, ties, dare or add-difference." };
        method.AcceptOnlyFromAmong(Enum.GetValues<SoupMethod>().Select(m => m.Name()).ToArray());
        var weights = new Option<string[]?>("--weights") { Description = "One weight per input, e.g. --weights 2,1,1 (whole numbers keep the soup exact).", AllowMultipleArgumentsPerToken = true };
        var baseModel = new Option<string?>("--base") { Description = "The model the inputs were fine-tuned from (task-arithmetic, ties, dare)." };
        var lambda = new Option<double?>("--lambda") { Description = "Scale of the merged task vector (default 1)." };
        var density = new Option<double?>("--density") { Description = "TIES: fraction of each task vector kept, by magnitude (default 0.2)." };
        var dropRate = new Option<double?>("--drop-rate") { Description = "DARE: probability of dropping each task-vector entry (default 0.5)." };
        var seed = new Option<ulong?>("--seed") { Description = "DARE: seed of the drop masks (default 0)." };
        var alpha = new Option<double?>("--alpha") { Description = "add-difference: α in A + α(B − C) (default 1)." };
        var keys = new Option<string?>("--keys") { Description = "Tensors not in every input: strict (stop, default), intersection (leave out), union (take from --fallback)." };
        keys.AcceptOnlyFromAmong("strict", "intersection", "union");
        var fallback = new Option<string?>("--fallback") { Description = "With --keys union: the model to take tensors from when some input lacks them." };
        var include = new Option<string[]?>("--include") { Description = "Merge only tensors matching these patterns (canonical names, * and ?), e.g. 'unet.*'.", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]?>("--exclude") { Description = "Leave out tensors matching these patterns.", AllowMultipleArgumentsPerToken = true };
        var ema = new Option<string?>("--ema") { Description = "EMA weights in the inputs: drop them (default) or use them as the UNet's weights." };
        ema.AcceptOnlyFromAmong("use", "drop");
        var dtype = Choices.DType("Output dtype of floating-point tensors (default: the first input's).");
        var layout = Choices.Layout("Output layout (default: the inputs', or the first input's when they differ).");
        var maxMemory = new Option<string?>("--max-memory") { Description = "Memory for buffers and accumulators, whatever the model size or input count (default 256MiB)." };
        var state = new Option<string?>("--state") { Description = "Also write a soup state (exact sums + manifest) for later 'soup add' / 'soup remove'." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Plan from the headers only and report; read no tensor data, write nothing." };
        var json = new Option<bool>("--json") { Description = "With --dry-run: print the plan as JSON." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output (and state) if they exist." };
        var recipe = new Option<string?>("--recipe") { Description = "Read the soup from a JSON recipe (same names as these flags); flags given here win." };
        var loras = LoraOption("Apply LoRAs on top of the soup: W = soup + strength·(α/r)·B·A (FILE or FILE:STRENGTH, repeatable).");
        var greedy = new Option<bool>("--greedy") { Description = "Choose the ingredients by held-out loss (--data): best first, each kept only if the candidate soup improves beyond --tolerance; the search is recorded in the recipe." };
        var reverse = new Option<bool>("--reverse") { Description = "With --greedy: start from all and drop each ingredient (worst first) unless leaving it out worsens the loss beyond --tolerance." };
        var tolerance = new Option<double>("--tolerance") { Description = "With --greedy: the paired-noise tolerance, in standard errors of the paired loss difference.", DefaultValueFactory = _ => 1.0 };
        var heldOut = new HeldOutData("With --greedy: held-out data the candidate soups are scored on (embedded:test, fashion-mnist:test, or a folder).", required: false);

        var command = new Command("soup",
            "Merge models by streaming weight averaging (Diffusion Soup), tensor by tensor in bounded memory. " +
            "Uniform and whole-number-weighted soups are exact: correctly rounded, independent of input order, and with --state any ingredient can later be added or removed bit for bit. " +
            "TIES runs on --device when it is a GPU (default: the first CUDA GPU), with the same bytes as on the CPU; the other methods stream on the CPU.")
        {
            inputs, output, method, weights, baseModel, lambda, density, dropRate, seed, alpha, keys, fallback,
            include, exclude, ema, dtype, layout, maxMemory, state, dryRun, json, overwrite, recipe, loras, greedy, reverse, tolerance,
        };
        heldOut.AddTo(command);
        command.Subcommands.Add(Change(context, StateChange.Add));
        command.Subcommands.Add(Change(context, StateChange.Remove));

        command.SetAction(result => context.Run(() =>
        {
            SoupRecipeFile? file = result.GetValue(recipe) is string r ? SoupRecipeFile.Load(r) : null;
            string[] paths = result.GetValue(inputs) ?? [];
            if (file is not null && paths.Length > 0)
            {
                throw new ArgumentException("give the inputs either on the command line or in the recipe, not both");
            }
            var ingredients = file?.Inputs ?? paths.Select(p => new SoupRecipeFile.Input(p)).ToList();
            if (ingredients.Count == 0)
            {
                throw new ArgumentException("name the models to merge (or a --recipe)");
            }
            T Pick<T>(Option<T> option, T? fromFile, T fallbackValue) => Given(result, option) ? result.GetValue(option)! : fromFile ?? fallbackValue;
            IReadOnlyList<double>? weightList = Given(result, weights)
                ? ParseWeights(result.GetValue(weights)!)
                : file?.Inputs.Any(i => i.Weight is not null) == true ? file.Inputs.Select(i => i.Weight ?? 1).ToList() : null;
            var options = new SoupOptions
            {
                Method = SoupMethods.Parse(Pick(method, file?.Method, "uniform")!),
                Weights = weightList,
                Lambda = Pick(lambda, file?.Lambda, 1.0)!.Value,
                Density = Pick(density, file?.Density, 0.2)!.Value,
                DropRate = Pick(dropRate, file?.DropRate, 0.5)!.Value,
                Seed = Pick(seed, file?.Seed, 0UL)!.Value,
                Alpha = Pick(alpha, file?.Alpha, 1.0)!.Value,
                KeyPolicy = Enum.Parse<KeyPolicy>(Pick(keys, file?.Keys, "strict")!, ignoreCase: true),
                Filter = new TensorFilter(Pick(include, file?.Include?.ToArray(), [])!, Pick(exclude, file?.Exclude?.ToArray(), [])!),
                Ema = Choices.ParseEma(Pick(ema, file?.Ema, "drop")!),
                DType = Pick(dtype, file?.Dtype, null) is string d ? Kernels.DTypeInfo.Parse(d) : null,
                Layout = Choices.ParseLayout(Pick(layout, file?.Layout, null)),
                MaxMemory = Units.ParseSize(Pick(maxMemory, file?.MaxMemory, "256MiB")!),
            };
            if (result.GetValue(greedy))
            {
                (ingredients, options) = SelectGreedily(context, result, heldOut, ingredients, options,
                    result.GetValue(reverse) ? GreedyDirection.Reverse : GreedyDirection.Forward, result.GetValue(tolerance));
            }
            else if (heldOut.Given(result) || result.GetValue(reverse))
            {
                throw new ArgumentException("--data and --reverse choose ingredients for --greedy; add --greedy or leave them out");
            }
            var job = new SoupJob(ingredients, options,
                Pick(baseModel, file?.Base, null), Pick(fallback, file?.Fallback, null),
                Given(result, loras) ? result.GetValue(loras)! : file?.Loras ?? [],
                Pick(output, file?.Output, null), Pick(state, file?.State, null),
                result.GetValue(dryRun), result.GetValue(json), result.GetValue(overwrite));
            return Execute(context, result, job);
        }));
        return command;
    }

    /// <summary>Everything one soup run needs, whether it came from flags, a recipe file or 'dsoup lora apply'.</summary>
    internal sealed record SoupJob(
        IReadOnlyList<SoupRecipeFile.Input> Ingredients,
        SoupOptions Options,
        string? BasePath,
        string? FallbackPath,
        IReadOnlyList<string> Loras,
        string? OutputPath,
        string? StatePath,
        bool DryRun,
        bool Json,
        bool Overwrite);

    internal static Option<string[]?> LoraOption(string description) =>
        new("--lora") { Description = description, AllowMultipleArgumentsPerToken = true };

    /// <summary>Opens the ingredients, plans, then either reports the plan (dry run) or runs the merge.</summary>
    internal static int Execute(CliContext context, ParseResult result, SoupJob job)
    {
        var options = job.Options;
        var opened = new List<IDisposable>();
        try
        {
            var inputList = new List<SoupIngredient>();
            foreach (var i in job.Ingredients)
            {
                inputList.Add(Track(opened, SoupIngredient.Open(i.Path, i.Name)));
            }
            SoupIngredient? baseIngredient = job.BasePath is null ? null : Track(opened, SoupIngredient.Open(job.BasePath));
            SoupIngredient? fallbackIngredient = job.FallbackPath is null ? null : Track(opened, SoupIngredient.Open(job.FallbackPath));
            var loraList = new List<Models.Lora.SoupLora>();
            foreach (string spec in job.Loras)
            {
                (string path, double strength) = Models.Lora.SoupLora.ParseSpec(spec);
                loraList.Add(new Models.Lora.SoupLora(Track(opened, Models.Lora.LoraFile.Open(path)), strength));
            }
            string? outputPath = job.OutputPath, statePath = job.StatePath;
            SoupPlan plan = SoupPlanner.Plan(inputList, baseIngredient, fallbackIngredient, options, loraList);
            if (job.DryRun)
            {
                if (job.Json)
                {
                    context.Output.WriteLine(JsonSerializer.Serialize(new { plan = plan.Report }, InspectCommand.JsonOptions));
                }
                else
                {
                    PrintPlan(plan.Report, options.MaxMemory, context.Output);
                }
                return plan.Report.Conflicts.Count == 0 ? 0 : CliErrors.Failure;
            }
            // Measured only for a real merge: a dry run reads headers and nothing else.
            double ceiling = ReadSpeed.Ceiling(job.Ingredients.Select(i => i.Path), 512L << 20);
            if (outputPath is null)
            {
                throw new ArgumentException("name the soup to write with -o/--output (or use --dry-run)");
            }
            // TIES makes several passes per tensor and pays for a GPU; the other methods are bound by reading.
            Engine.Devices.Device? device = options.Method == SoupMethod.Ties ? context.Device(result) : null;
            if (device is null && result.GetValue(CliContext.DeviceOption) is string named && named != "cpu")
            {
                context.Error.WriteLine($"note: {options.Method.Name()} soups stream on the CPU (they are bound by reading, not arithmetic); --device {named} is used by ties only");
            }
            var runOptions = new SoupRunOptions(outputPath)
            {
                StatePath = statePath,
                Device = device,
                Overwrite = job.Overwrite,
                InterruptAfterTensors = TestInterrupt(),
                InterruptAbruptly = true,
            };
            ByteProgress progress = context.Progress("soup", SoupEngine.BytesToRead(plan, runOptions), ceiling);
            SoupResult soup = SoupEngine.Run(plan, runOptions with { Progress = progress });
            progress.Finish();
            string patched = plan.Loras is { } targets ? $", {targets.PatchedTensors} patched by LoRAs" : "";

            context.Output.WriteLine($"wrote {outputPath}: {plan.Report.Merged} tensors merged ({options.Method.Name()}{(soup.TensorsOnDevice > 0 ? $", {soup.TensorsOnDevice} on {device!.Name}" : "")}){patched}, {plan.Report.Copied} copied" +
                (soup.ResumedTensors > 0 ? $", resumed after {soup.ResumedTensors} finished tensors" : "") +
                string.Create(CultureInfo.InvariantCulture, $"; read {Units.Bytes((long)progress.BytesPerSecond)}/s") +
                (progress.ShowsCeiling ? string.Create(CultureInfo.InvariantCulture, $" = {progress.BytesPerSecond / ceiling:P0} of the read ceiling") : ""));
            for (int i = 0; i < inputList.Count; i++)
            {
                context.Output.WriteLine($"  {soup.InputHashes[i]}  {inputList[i].Name}");
            }
            foreach (var lora in loraList)
            {
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {lora.File.Hash}  {lora.Name} (LoRA, strength {lora.Strength})"));
            }
            if (statePath is not null)
            {
                context.Output.WriteLine($"soup state: {statePath}");
            }
            return 0;
        }
        finally
        {
            foreach (IDisposable d in opened)
            {
                d.Dispose();
            }
        }
    }

    /// <summary>Runs the greedy search on held-out data and returns the kept ingredients and options recording the search.</summary>
    private static (List<SoupRecipeFile.Input>, SoupOptions) SelectGreedily(CliContext context, ParseResult result, HeldOutData heldOut,
        IReadOnlyList<SoupRecipeFile.Input> ingredients, SoupOptions options, GreedyDirection direction, double tolerance)
    {
        if (!heldOut.Given(result))
        {
            throw new ArgumentException("--greedy scores candidate soups on held-out data: add --data (embedded:test, fashion-mnist:test, or a folder of captioned images)");
        }
        if (options.Method != SoupMethod.Uniform || options.Weights is not null)
        {
            throw new ArgumentException("--greedy makes a uniform soup of the ingredients it keeps; --method and --weights do not apply");
        }
        (string spec, var examples, var settings, var load) = heldOut.Read(result, context);
        var named = ingredients.Select(i => (i.Name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(i.Path)), i.Path)).ToList();
        if (named.Select(n => n.Item1).Distinct(StringComparer.Ordinal).Count() != named.Count)
        {
            throw new ArgumentException("--greedy: two ingredients have the same name; give them distinct file names");
        }
        context.Error.WriteLine($"{(direction == GreedyDirection.Forward ? "greedy" : "reverse greedy")} soup: scoring {named.Count} ingredients on {spec} ({examples.Count} examples × {settings.Draws} draws)");
        GreedyResult search = HeldOutGreedySoup.Select(named, examples, settings, load, direction, tolerance,
            m => context.Error.WriteLine($"warning: {m}"), m => context.Error.WriteLine(m));
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"greedy search kept {search.Kept.Count} of {named.Count}: {string.Join(", ", search.Kept)} (held-out loss {search.FinalLoss:0.000000})"));
        var kept = ingredients.Where((_, i) => search.Kept.Contains(named[i].Item1)).ToList();
        return (kept, options with { Selection = search.ToJson(direction, tolerance, spec).ToJsonString() });
    }

    private static T Track<T>(List<IDisposable> opened, T item)
        where T : IDisposable
    {
        opened.Add(item);
        return item;
    }

    private static Command Change(CliContext context, StateChange change)
    {
        string verb = change == StateChange.Add ? "add" : "remove";
        var statePath = new Argument<string>("state") { Description = "The soup state (written by dsoup soup --state); it is updated in place, atomically." };
        var model = new Argument<string>("model") { Description = change == StateChange.Add ? "The model to add." : "The model to remove (the same one that was added, in any layout)." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the new soup.", Required = true };
        var weight = new Option<long?>("--weight") { Description = change == StateChange.Add ? "Its whole-number weight (default 1)." : "Its weight in the soup (default: as recorded)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output if it exists." };
        var command = new Command(verb, change == StateChange.Add
            ? "Add one ingredient to a soup (continual learning): reads the state and the model once; the result equals a rebuild with it."
            : "Remove one ingredient from a soup (unlearning), exactly: the result is bit for bit the soup rebuilt without it.")
        {
            statePath, model, output, weight, overwrite,
        };
        command.SetAction(result => context.Run(() =>
        {
            string state = result.GetValue(statePath)!;
            using SoupStateUpdater update = SoupStateUpdater.Open(state, result.GetValue(model)!, change, result.GetValue(weight));
            ByteProgress progress = context.Progress($"soup {verb}", update.BytesToRead);
            SoupResult soup = update.Run(result.GetValue(output)!, result.GetValue(overwrite), progress);
            progress.Finish();
            context.Output.WriteLine($"{(change == StateChange.Add ? "added" : "removed")} {soup.InputHashes[0]}; wrote {result.GetValue(output)} and updated {state}");
            return 0;
        }));
        return command;
    }

    private static bool Given(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    private static List<double> ParseWeights(string[] tokens) =>
        tokens.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double w)
                ? w
                : throw new FormatException($"--weights: '{t}' is not a number"))
            .ToList();

    /// <summary>DSOUP_TEST_INTERRUPT_AFTER_TENSORS: a test hook that kills the process mid-merge, as a crash would, to exercise resuming.</summary>
    private static int? TestInterrupt() =>
        int.TryParse(Environment.GetEnvironmentVariable("DSOUP_TEST_INTERRUPT_AFTER_TENSORS"), out int n) ? n : null;

    private static void PrintPlan(SoupPlanReport r, long budget, TextWriter o)
    {
        o.WriteLine("soup plan (dry run: headers only, no tensor data read)");
        o.WriteLine($"  method      {r.Method}");
        o.WriteLine($"  layout      {r.Layout}");
        o.WriteLine("  ingredients");
        foreach (IngredientReport i in r.Ingredients)
        {
            string dtypes = string.Join(", ", i.DTypes.Select(d => $"{d.Key}×{d.Value}"));
            o.WriteLine($"    {i.Role,-8} {i.Name}  {i.Layout}  {i.Tensors} tensors  {Units.Bytes(i.Bytes)}  ({dtypes})" +
                (i.EmaTensors > 0 ? $"  {i.EmaTensors} EMA" : "") + (i.OnlyHere > 0 ? $"  {i.OnlyHere} only here" : "") + (i.Missing > 0 ? $"  {i.Missing} missing" : ""));
        }
        o.WriteLine($"  tensors     {r.Merged} merged, {r.Copied} copied, {r.LeftOut} left out");
        o.WriteLine($"  read        {Units.Bytes(r.BytesToRead)}; write {Units.Bytes(r.BytesToWrite)}");
        o.WriteLine($"  memory      chunks of {Units.Count(r.ChunkElements)} elements, peak ≈ {Units.Bytes(r.PeakMemory)} (budget {Units.Bytes(budget)})");
        foreach (string note in r.Notes)
        {
            o.WriteLine($"  note        {note}");
        }
        o.WriteLine(r.Conflicts.Count == 0 ? "  conflicts   none: ready to merge" : "  conflicts   (the merge would stop)");
        foreach (string c in r.Conflicts)
        {
            o.WriteLine($"    - {c}");
        }
    }
}
