namespace Dsoup.Cli.Demo;

/// <summary>
/// dsoup demo --merge-tour: what the merge engine does, on synthetic stand-ins (a tiny SD-shaped model and
/// deterministic "fine-tunes" with its real tensor names): a dry-run plan, an exact soup with a state, unlearning
/// one shard and adding it back bit for bit, TIES on a base, and LoRAs merged and applied. Each claim is checked.
/// </summary>
internal sealed class MergeTour(CliContext context, string folder) : DemoScript(context, folder)
{
    private const int Shards = 4;

    public override void Run()
    {
        Stage("1. A base model and four fine-tuned shards (synthetic stand-ins with the tiny SD model's real tensor names and shapes)");
        Dsoup("synthesize", F("base.safetensors"), "--family", "tiny", "--seed", "7");
        string[] shards = Enumerable.Range(1, Shards).Select(i => F($"shard{i}.safetensors")).ToArray();
        for (int i = 1; i <= Shards; i++)
        {
            // Shard 3 comes in the diffusers layout: the soup matches tensors by canonical name.
            string[] layout = i == 3 ? ["--layout", "diffusers"] : [];
            Dsoup(["synthesize", shards[i - 1], "--family", "tiny", "--seed", "7", "--variant", $"{i}", "--perturbation", "0.1", .. layout]);
        }

        Stage("2. Plan the soup from headers only");
        Dsoup(["soup", .. shards, "--dry-run"]);

        Stage("3. The soup: an exact, correctly rounded mean, with a state for later changes");
        Dsoup(["soup", .. shards, "-o", F("soup.safetensors"), "--state", F("soup.state")]);

        Stage("4. Unlearn shard 3: remove it from the state, and compare with a soup rebuilt without it");
        Dsoup("soup", "remove", F("soup.state"), shards[2], "-o", F("soup-without-3.safetensors"));
        Dsoup("soup", shards[0], shards[1], shards[3], "-o", F("rebuilt-without-3.safetensors"));
        Check(SameTensorBytes(F("soup-without-3.safetensors"), F("rebuilt-without-3.safetensors")), "removing shard 3 gives the same bytes as rebuilding without it");

        Stage("5. Continual learning: add shard 3 back");
        Dsoup("soup", "add", F("soup.state"), shards[2], "-o", F("soup-again.safetensors"));
        Check(SameTensorBytes(F("soup.safetensors"), F("soup-again.safetensors")), "adding it back restores the original soup bit for bit");

        Stage("6. TIES-merging of the shards' task vectors on the base");
        Dsoup(["soup", .. shards, "--method", "ties", "--base", F("base.safetensors"), "--density", "0.3", "-o", F("ties.safetensors")]);

        Stage("7. LoRAs: merge two into one (exact concat, then SVD to rank 2) and apply to the soup while streaming");
        Dsoup("synthesize", F("style.safetensors"), "--lora-for", F("base.safetensors"), "--rank", "4", "--seed", "11");
        Dsoup("synthesize", F("subject.safetensors"), "--lora-for", F("base.safetensors"), "--rank", "2", "--seed", "12", "--convention", "peft");
        Dsoup("lora", "merge", F("style.safetensors"), F("subject.safetensors") + ":0.5", "-o", F("both.safetensors"));
        Dsoup("lora", "merge", F("style.safetensors"), F("subject.safetensors") + ":0.5", "--method", "svd", "--rank", "2", "-o", F("both-rank2.safetensors"));
        Dsoup("lora", "apply", F("soup.safetensors"), F("both.safetensors"), "-o", F("soup+loras.safetensors"));

        Stage("8. What the soup file records");
        Dsoup("inspect", F("soup.safetensors"));
        EndStage();
    }
}
