namespace Dsoup.Models;

/// <summary>Independent work items (blocks, inputs, modules) on every core.</summary>
internal static class AllCores
{
    /// <summary>Runs <paramref name="body"/> for 0 ≤ i &lt; <paramref name="count"/> in parallel; a failure surfaces as itself, not wrapped.</summary>
    public static void For(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, body);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
        }
    }
}
