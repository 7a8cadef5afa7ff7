using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Dsoup.Cli.Tests;

/// <summary>docs/scale-out: the Kubernetes manifests parse as YAML, and every dsoup command in them and in the Slurm scripts is one dsoup accepts.</summary>
public partial class ScaleOutDocsTests
{
    private static readonly string Docs = Path.Combine(Repository(), "docs", "scale-out");

    [Theory]
    [InlineData("train-job.yaml", "Indexed")]
    [InlineData("soup-job.yaml", null)]
    public void ManifestsParseAndTheirCommandsAreValid(string file, string? completionMode)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Docs, file))));
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        Assert.Equal("batch/v1", root["apiVersion"].ToString());
        Assert.Equal("Job", root["kind"].ToString());
        var spec = (YamlMappingNode)root["spec"];
        Assert.Equal(completionMode, spec.Children.TryGetValue(new YamlScalarNode("completionMode"), out YamlNode? mode) ? mode.ToString() : null);
        var containers = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)spec["template"])["spec"])["containers"];
        string command = ((YamlSequenceNode)((YamlMappingNode)containers.Single())["args"]).Single().ToString();
        AssertAccepted(command.Replace("$(JOB_COMPLETION_INDEX)", "0"), file);
    }

    [Theory]
    [InlineData("train-array.sbatch")]
    [InlineData("soup.sbatch")]
    public void SlurmScriptsRunValidCommands(string file)
    {
        string text = File.ReadAllText(Path.Combine(Docs, file)).Replace("\\\n", " ");
        Assert.StartsWith("#!/usr/bin/env bash", text);
        Assert.Contains("#SBATCH --job-name=", text);
        string command = text.Split('\n').Single(line => line.StartsWith("dsoup ", StringComparison.Ordinal));
        AssertAccepted(command.Replace("\"$SLURM_ARRAY_TASK_ID\"", "0").Replace("\"$SHARDS\"", "4").Replace("$SLURM_ARRAY_TASK_ID", "0"), file);
    }

    private static void AssertAccepted(string command, string file)
    {
        string[] args = Whitespace().Split(command.Trim()).Skip(1).Select(a => a.Trim('"')).ToArray();
        Assert.True(args.Length > 2, $"{file}: no dsoup command found");
        Assert.Empty(DsoupApp.ParseErrors(args));
    }

    private static string Repository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("the repository root (Engine.sln) is not above the test binaries");
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
