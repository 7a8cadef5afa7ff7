using System.Text.Json.Nodes;
using Dsoup.Engine.Devices;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>Greedy soup (Wortsman et al., 2022) adds ingredients best-first while they help; reverse greedy starts from all and drops what does not.</summary>
public enum GreedyDirection
{
    Forward,
    Reverse,
}

/// <summary>One step of the search: the ingredient, what was decided, the candidate's mean loss, and its paired change against the soup before.</summary>
public sealed record GreedyDecision(string Ingredient, string Decision, double MeanLoss, PairedDifference Change);

/// <summary>The search's outcome: the ingredients kept, each one's own score, and every decision in order.</summary>
public sealed record GreedyResult(IReadOnlyList<string> Kept, IReadOnlyList<(string Name, double MeanLoss)> Alone, IReadOnlyList<GreedyDecision> Decisions, double FinalLoss)
{
    /// <summary>The search as the soup's recipe records it ("selection").</summary>
    public JsonObject ToJson(GreedyDirection direction, double tolerance, string data) => new()
    {
        ["strategy"] = direction == GreedyDirection.Forward ? "greedy" : "reverse-greedy",
        ["score"] = "held-out denoising loss (fixed draws), lower is better",
        ["data"] = data,
        ["tolerance_standard_errors"] = tolerance,
        ["alone"] = new JsonArray(Alone.Select(a => (JsonNode)new JsonObject { ["name"] = a.Name, ["loss"] = a.MeanLoss }).ToArray()),
        ["decisions"] = new JsonArray(Decisions.Select(d => (JsonNode)new JsonObject
        {
            ["ingredient"] = d.Ingredient,
            ["decision"] = d.Decision,
            ["loss"] = d.MeanLoss,
            ["change"] = d.Change.Mean,
            ["standard_error"] = d.Change.StandardError,
        }).ToArray()),
        ["kept"] = new JsonArray(Kept.Select(k => (JsonNode)k!).ToArray()),
        ["final_loss"] = FinalLoss,
    };
}

/// <summary>
/// Searches which ingredients to average by their held-out score, with candidate soups held in memory
/// (<see cref="CandidateSoup"/>). Ingredients are ordered by their own score; forward, each is kept only if the
/// candidate's paired loss improves on the soup's by more than <c>tolerance</c> standard errors; reverse, each
/// (worst first) is dropped unless leaving it out worsens the loss by more than that.
/// </summary>
public static class GreedySoup
{
    /// <param name="score">Per-example held-out losses of a model with the given (UNet) weights.</param>
    public static GreedyResult Search(IReadOnlyList<(string Name, ModelCheckpoint Model)> ingredients, Func<SoupWeights, float[]> score,
        Device device, Func<string, bool> keep, GreedyDirection direction, double tolerance, Action<string>? inform = null)
    {
        if (ingredients.Count < 2)
        {
            throw new ArgumentException($"a greedy soup needs at least two ingredients; got {ingredients.Count}");
        }
        if (!double.IsFinite(tolerance) || tolerance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), $"the tolerance is a number of standard errors ≥ 0; got {tolerance}");
        }
        using var soup = new CandidateSoup(device, keep);
        float[] Score(SoupWeights weights)
        {
            using (weights)
            {
                return score(weights);
            }
        }

        var alone = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach ((string name, ModelCheckpoint model) in ingredients)
        {
            alone[name] = Score(soup.Try(model, name));
            inform?.Invoke($"  {name}: alone {alone[name].Average(v => (double)v):G6}");
        }
        var ranked = ingredients.OrderBy(i => alone[i.Name].Average(v => (double)v)).ThenBy(i => i.Name, StringComparer.Ordinal).ToList();
        var decisions = new List<GreedyDecision>();
        float[] current;
        if (direction == GreedyDirection.Forward)
        {
            soup.Accept(ranked[0].Model, ranked[0].Name);
            current = alone[ranked[0].Name];
            decisions.Add(new GreedyDecision(ranked[0].Name, "kept (best alone)", current.Average(v => (double)v), default));
            foreach ((string name, ModelCheckpoint model) in ranked.Skip(1))
            {
                float[] candidate = Score(soup.Try(model, name));
                var change = PairedDifference.Of(current, candidate);
                bool better = change.ImprovesBeyond(tolerance);
                if (better)
                {
                    soup.Accept(model, name);
                    current = candidate;
                }
                decisions.Add(new GreedyDecision(name, better ? "kept" : "rejected", candidate.Average(v => (double)v), change));
                inform?.Invoke($"  {(better ? "kept" : "rejected")} {name}: {change.Mean:+0.000000;-0.000000} ± {change.StandardError:0.000000}");
            }
        }
        else
        {
            foreach ((string name, ModelCheckpoint model) in ranked)
            {
                soup.Accept(model, name);
            }
            current = Score(soup.Mean());
            decisions.Add(new GreedyDecision("(all)", "start", current.Average(v => (double)v), default));
            foreach ((string name, ModelCheckpoint model) in Enumerable.Reverse(ranked))
            {
                if (soup.Members.Count < 2)
                {
                    break;
                }
                float[] candidate = Score(soup.TryWithout(model, name));
                var change = PairedDifference.Of(current, candidate);
                bool needed = change.WorsensBeyond(tolerance);
                if (!needed)
                {
                    soup.Remove(model, name);
                    current = candidate;
                }
                decisions.Add(new GreedyDecision(name, needed ? "retained" : "dropped", candidate.Average(v => (double)v), change));
                inform?.Invoke($"  {(needed ? "retained" : "dropped")} {name}: {change.Mean:+0.000000;-0.000000} ± {change.StandardError:0.000000}");
            }
        }
        var kept = soup.Members.Select(m => m.Name).ToList();
        return new GreedyResult(kept, ranked.Select(i => (i.Name, alone[i.Name].Average(v => (double)v))).ToList(), decisions, current.Average(v => (double)v));
    }
}
