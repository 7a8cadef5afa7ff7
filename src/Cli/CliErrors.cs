using Dsoup.Engine.Checkpoints;

namespace Dsoup.Cli;

/// <summary>
/// Runs a command body and turns expected failures (bad input files, bad flags, IO problems) into one
/// clear line on stderr and a non-zero exit code, never a stack trace. DSOUP_DEBUG=1 shows the trace.
/// </summary>
internal static class CliErrors
{
    public const int Failure = 1;
    public const int Internal = 70;

    public static int Run(Func<int> body, TextWriter error)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (IsUserFacing(ex))
        {
            error.WriteLine($"dsoup: error: {ex.Message}");
            Debug(ex, error);
            return Failure;
        }
        catch (Exception ex)
        {
            error.WriteLine($"dsoup: internal error: {ex.GetType().Name}: {ex.Message}");
            error.WriteLine("This is a bug in dsoup; run again with DSOUP_DEBUG=1 and report the stack trace.");
            Debug(ex, error);
            return Internal;
        }
    }

    private static bool IsUserFacing(Exception ex) => ex is CheckpointFormatException or ArgumentException or IOException
        or InvalidDataException or InvalidOperationException or NotSupportedException or UnauthorizedAccessException
        or ObjectDisposedException or OperationCanceledException or FormatException;

    private static void Debug(Exception ex, TextWriter error)
    {
        if (Environment.GetEnvironmentVariable("DSOUP_DEBUG") == "1")
        {
            error.WriteLine(ex.ToString());
        }
    }
}
