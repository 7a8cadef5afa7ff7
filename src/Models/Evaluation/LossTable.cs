namespace Dsoup.Models.Evaluation;

/// <summary>A model's mean held-out loss on one group of examples (a shard), and its paired difference from the reference model there.</summary>
public sealed record GroupLoss(string Group, int Examples, double MeanLoss, PairedDifference VersusReference);

/// <summary>A model's mean held-out loss overall and per group, each with the paired difference (model − reference).</summary>
public sealed record ModelLossRow(string Model, double MeanLoss, PairedDifference VersusReference, IReadOnlyList<GroupLoss> Groups);

/// <summary>Summarises per-example losses into the rows <c>dsoup eval</c> prints: overall and per group, paired against a reference.</summary>
public static class LossTable
{
    /// <param name="groupOf">Each scored example's group (e.g. "shard 0"); groups are listed in order of first appearance, sorted.</param>
    public static IReadOnlyList<ModelLossRow> Build(IReadOnlyList<ModelLosses> models, int reference, IReadOnlyList<string> groupOf)
    {
        if (reference < 0 || reference >= models.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(reference), $"the reference must be one of the {models.Count} models");
        }
        string[] groups = groupOf.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        float[] baseline = models[reference].PerExample;
        return models.Select(m =>
        {
            var perGroup = groups.Select(g =>
            {
                int[] members = Enumerable.Range(0, groupOf.Count).Where(i => groupOf[i] == g).ToArray();
                float[] mine = members.Select(i => m.PerExample[i]).ToArray(), theirs = members.Select(i => baseline[i]).ToArray();
                return new GroupLoss(g, members.Length, mine.Average(v => (double)v), PairedDifference.Of(theirs, mine));
            }).ToList();
            return new ModelLossRow(m.Name, m.PerExample.Average(v => (double)v), PairedDifference.Of(baseline, m.PerExample), perGroup);
        }).ToList();
    }
}
