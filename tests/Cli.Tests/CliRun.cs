namespace Dsoup.Cli.Tests;

/// <summary>Runs dsoup in-process and captures what it prints.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Of(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DsoupApp.Run(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>A failure the user caused: non-zero exit, a message naming the problem, and no stack trace.</summary>
    public void AssertCleanFailure(params string[] mentions)
    {
        Assert.NotEqual(0, ExitCode);
        Assert.DoesNotContain("   at ", Error);
        Assert.DoesNotContain("internal error", Error);
        foreach (string m in mentions)
        {
            Assert.Contains(m, Error);
        }
    }
}
