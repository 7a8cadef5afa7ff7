using System.Text.Json;

namespace Dsoup.Cli.Tests;

/// <summary>`dsoup eval`, `dsoup soup --greedy` and `dsoup inspect --base` on real fine-tunes of a small model.</summary>
public sealed class EvalCommandTests(SoupWorkflowFixture models) : IClassFixture<SoupWorkflowFixture>
{
    private static string[] Scoring => ["--data", "embedded:test", .. Settings];

    private static string[] Settings => ["--limit", "24", "--draws", "2", "--tokenizer", SoupWorkflowFixture.ClipFolder!, "--device", "cpu"];

    [SkippableFact]
    public void EvalGivesTheSameNumbersTwiceAndExactlyZeroAgainstACopy()
    {
        Skip.If(SoupWorkflowFixture.ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string copy = models.File("copy-of-specialist0.safetensors");
        File.Copy(models.Specialist(0), copy, overwrite: true);
        string[] args = ["eval", models.Specialist(0), models.Base, copy, "--of", "4", "--shard-by", "label", "--json", .. Scoring];
        CliRun first = CliRun.Of(args), second = CliRun.Of(args);
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Output, second.Output);

        JsonElement rows = JsonDocument.Parse(first.Output).RootElement.GetProperty("models");
        Assert.Equal(24, JsonDocument.Parse(first.Output).RootElement.GetProperty("examples").GetInt32());
        JsonElement againstCopy = rows[2].GetProperty("versusReference");
        Assert.Equal(0.0, againstCopy.GetProperty("mean").GetDouble());
        Assert.Equal(0.0, againstCopy.GetProperty("standardError").GetDouble());
        Assert.All(rows[2].GetProperty("groups").EnumerateArray(), g => Assert.Equal(0.0, g.GetProperty("versusReference").GetProperty("mean").GetDouble()));
        // Not zero for a different model, which the fine-tune beats by far more than its standard error.
        JsonElement baseRow = rows[1].GetProperty("versusReference");
        Assert.True(baseRow.GetProperty("mean").GetDouble() > 10 * baseRow.GetProperty("standardError").GetDouble(), first.Output);
        Assert.Equal(4, rows[0].GetProperty("groups").GetArrayLength());
    }

    [SkippableFact]
    public void GreedySoupRejectsAnIngredientThatHurtsAndRecordsWhy()
    {
        Skip.If(SoupWorkflowFixture.ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        string soup = models.File("greedy.safetensors");
        // The untrained base as a third ingredient: averaging it in pulls the fine-tunes halfway back.
        CliRun run = CliRun.Of(["soup", models.Specialist(0), models.Specialist(1), models.Base, "--greedy", "-o", soup, "--overwrite", .. Scoring]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("rejected base.safetensors", run.Error);

        CliRun inspect = CliRun.Of("inspect", soup, "--json");
        string recipeText = JsonDocument.Parse(inspect.Output).RootElement.GetProperty("metadata").GetProperty("dsoup.recipe").GetString()!;
        JsonElement recipe = JsonDocument.Parse(recipeText).RootElement;
        Assert.DoesNotContain(recipe.GetProperty("ingredients").EnumerateArray(), i => i.GetProperty("name").GetString() == "base.safetensors");
        JsonElement selection = recipe.GetProperty("selection");
        Assert.Equal("greedy", selection.GetProperty("strategy").GetString());
        JsonElement rejected = selection.GetProperty("decisions").EnumerateArray().Single(d => d.GetProperty("ingredient").GetString() == "base.safetensors");
        Assert.Equal("rejected", rejected.GetProperty("decision").GetString());
        Assert.True(rejected.GetProperty("change").GetDouble() > 0);
        Assert.Equal(3, selection.GetProperty("alone").GetArrayLength());
    }

    [SkippableFact]
    public void ReverseGreedyDropsTheIngredientThatHurts()
    {
        Skip.If(SoupWorkflowFixture.ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun run = CliRun.Of(["soup", models.Specialist(0), models.Specialist(1), models.Base, "--greedy", "--reverse", "-o", models.File("reverse.safetensors"), "--overwrite", .. Scoring]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("dropped base.safetensors", run.Error);
        Assert.DoesNotContain("base.safetensors", run.Output.Split('\n').First(l => l.StartsWith("greedy search kept", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void InspectAgainstTheBaseShowsOnlyTheUNetMoved()
    {
        Skip.If(SoupWorkflowFixture.ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        CliRun run = CliRun.Of("inspect", models.Specialist(0), models.Specialist(1), "--base", models.Base, "--json");
        Assert.Equal(0, run.ExitCode);
        JsonElement report = JsonDocument.Parse(run.Output).RootElement;
        foreach (JsonElement model in report.GetProperty("models").EnumerateArray())
        {
            var relative = model.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("component").GetString()!, c => c.GetProperty("relative").GetDouble());
            Assert.Equal(0.0, relative["vae"]);
            Assert.Equal(0.0, relative["text_encoder"]);
            Assert.InRange(relative["unet"], 1e-4, 1.0);
        }
        Assert.InRange(report.GetProperty("cosines")[0].GetProperty("cosine").GetDouble(), -1.0, 1.0);
    }

    [SkippableFact]
    public void BadInputGetsAClearErrorBeforeAnyScoring()
    {
        Skip.If(SoupWorkflowFixture.ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout");
        // A folder whose only image is corrupt.
        string folder = models.File("corrupt-images");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "a.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        File.WriteAllText(Path.Combine(folder, "a.txt"), "a red circle");
        CliRun.Of(["eval", models.Base, .. Settings, "--data", folder]).AssertCleanFailure("could be read");

        string inpainting = models.File("inpainting.safetensors");
        Assert.Equal(0, CliRun.Of("synthesize", inpainting, "--family", "tiny-inpainting").ExitCode);
        CliRun.Of(["eval", models.Base, inpainting, .. Scoring]).AssertCleanFailure("different architectures", "conv_in");

        CliRun.Of("soup", models.Specialist(0), models.Specialist(1), "--greedy", "-o", models.File("x.safetensors")).AssertCleanFailure("held-out data", "--data");

        string otherBase = models.File("other-base.safetensors");
        Assert.Equal(0, CliRun.Of("synthesize", otherBase, "--family", "tiny", "--trainable", "--dtype", "f32", "--seed", "5").ExitCode);
        CliRun.Of(["soup", models.Specialist(0), otherBase, "--greedy", "-o", models.File("y.safetensors"), .. Scoring]).AssertCleanFailure("differ in", "text encoder and VAE");
        Assert.False(File.Exists(models.File("y.safetensors")));
    }
}
