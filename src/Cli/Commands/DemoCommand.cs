using System.CommandLine;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Cli.Commands;

/// <summary>
/// dsoup demo: the Diffusion Soup workflow on embedded data, as the commands a user would type. Today it
/// covers what the engine can do end to end: shards of a tiny SD-shaped model (deterministic synthetic
/// fine-tunes), an exact soup with a state, unlearning one shard and adding it back bit for bit, TIES on
/// a base, and LoRAs applied and merged. Each claim the demo makes it checks, and fails if it does not hold.
/// </summary>
internal static class DemoCommand
{
    private const int Shards = 4;

    public static Command Create(CliContext context)
    {
        var keep = new Option<string?>("--keep") { Description = "Write the demo's files into this folder and keep them (default: a temporary folder, removed at the end)." };
        var command = new Command("demo",
            "Run the Diffusion Soup workflow on embedded data (a tiny SD-shaped model and synthetic fine-tuned shards): " +
            "plan, exact soup with a state, unlearn a shard and re-add it bit for bit, TIES, LoRA apply and merge. Prints each dsoup command it runs.")
        {
            keep,
        };
        command.SetAction(result => context.Run(() =>
        {
            string? kept = result.GetValue(keep);
            string folder = kept ?? Directory.CreateTempSubdirectory("dsoup-demo-").FullName;
            Directory.CreateDirectory(folder);
            try
            {
                new Demo(context, folder).Run();
                context.Output.WriteLine(kept is null ? "demo finished; its files were temporary (use --keep DIR to keep them)" : $"demo finished; files in {folder}");
                return 0;
            }
            finally
            {
                if (kept is null)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }));
        return command;
    }

    private sealed class Demo(CliContext context, string folder)
    {
        private string F(string name) => Path.Combine(folder, name);

        public void Run()
        {
            Section("1. A base model and four fine-tuned shards (synthetic stand-ins with the tiny SD model's real tensor names and shapes)");
            Dsoup("synthesize", F("base.safetensors"), "--family", "tiny", "--seed", "7");
            string[] shards = Enumerable.Range(1, Shards).Select(i => F($"shard{i}.safetensors")).ToArray();
            for (int i = 1; i <= Shards; i++)
            {
                // Shard 3 comes in the diffusers layout: the soup matches tensors by canonical name.
                string[] layout = i == 3 ? ["--layout", "diffusers"] : [];
                Dsoup(["synthesize", shards[i - 1], "--family", "tiny", "--seed", "7", "--variant", $"{i}", "--perturbation", "0.1", .. layout]);
            }

            Section("2. Plan the soup from headers only");
            Dsoup(["soup", .. shards, "--dry-run"]);

            Section("3. The soup: an exact, correctly rounded mean, with a state for later changes");
            Dsoup(["soup", .. shards, "-o", F("soup.safetensors"), "--state", F("soup.state")]);

            Section("4. Unlearn shard 3: remove it from the state, and compare with a soup rebuilt without it");
            Dsoup("soup", "remove", F("soup.state"), shards[2], "-o", F("soup-without-3.safetensors"));
            Dsoup("soup", shards[0], shards[1], shards[3], "-o", F("rebuilt-without-3.safetensors"));
            Check(SameTensorBytes(F("soup-without-3.safetensors"), F("rebuilt-without-3.safetensors")), "removing shard 3 gives the same bytes as rebuilding without it");

            Section("5. Continual learning: add shard 3 back");
            Dsoup("soup", "add", F("soup.state"), shards[2], "-o", F("soup-again.safetensors"));
            Check(SameTensorBytes(F("soup.safetensors"), F("soup-again.safetensors")), "adding it back restores the original soup bit for bit");

            Section("6. TIES-merging of the shards' task vectors on the base");
            Dsoup(["soup", .. shards, "--method", "ties", "--base", F("base.safetensors"), "--density", "0.3", "-o", F("ties.safetensors")]);

            Section("7. LoRAs: merge two into one (exact concat, then SVD to rank 2) and apply to the soup while streaming");
            Dsoup("synthesize", F("style.safetensors"), "--lora-for", F("base.safetensors"), "--rank", "4", "--seed", "11");
            Dsoup("synthesize", F("subject.safetensors"), "--lora-for", F("base.safetensors"), "--rank", "2", "--seed", "12", "--convention", "peft");
            Dsoup("lora", "merge", F("style.safetensors"), F("subject.safetensors") + ":0.5", "-o", F("both.safetensors"));
            Dsoup("lora", "merge", F("style.safetensors"), F("subject.safetensors") + ":0.5", "--method", "svd", "--rank", "2", "-o", F("both-rank2.safetensors"));
            Dsoup("lora", "apply", F("soup.safetensors"), F("both.safetensors"), "-o", F("soup+loras.safetensors"));

            Section("8. What the soup file records");
            Dsoup("inspect", F("soup.safetensors"));
        }

        private void Section(string title)
        {
            context.Output.WriteLine();
            context.Output.WriteLine($"== {title}");
        }

        private void Dsoup(params string[] args)
        {
            context.Output.WriteLine("$ dsoup " + string.Join(' ', args.Select(Shorten)));
            int code = DsoupApp.Run(args, context.Output, context.Error);
            if (code != 0)
            {
                throw new InvalidOperationException($"demo step 'dsoup {string.Join(' ', args.Select(Shorten))}' failed (exit {code})");
            }
        }

        private void Check(bool holds, string claim)
        {
            if (!holds)
            {
                throw new InvalidOperationException($"demo check failed: {claim}");
            }
            context.Output.WriteLine($"   ✓ {claim}");
        }

        private string Shorten(string arg) => arg.StartsWith(folder, StringComparison.Ordinal) ? Path.GetRelativePath(folder, arg) : arg;

        /// <summary>True when both files hold the same tensors with the same bytes (metadata may differ).</summary>
        private static bool SameTensorBytes(string a, string b)
        {
            using ICheckpointReader first = CheckpointFiles.Open(a);
            using ICheckpointReader second = CheckpointFiles.Open(b);
            var other = second.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
            return first.Tensors.Count == other.Count && first.Tensors.All(t =>
                other.TryGetValue(t.Name, out TensorEntry? u) && u.Type == t.Type && u.Shape.SequenceEqual(t.Shape)
                && t.Bytes(0, checked((int)t.ByteLength)).SequenceEqual(u.Bytes(0, checked((int)u.ByteLength))));
        }
    }
}
