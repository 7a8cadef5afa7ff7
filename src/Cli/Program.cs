namespace Dsoup.Cli;

public static class Program
{
    public static int Main(string[] args) => DsoupApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsErrorRedirected);
}
