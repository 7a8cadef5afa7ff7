using BenchmarkDotNet.Running;

namespace Dsoup.Benchmarks;

public static class Program
{
    /// <summary>dotnet run -c Release --project benchmarks/Benchmarks -- --filter '*Gemm*'</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
