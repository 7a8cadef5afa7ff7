using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

/// <summary>
/// Gradient checkpointing: run a segment without keeping its activations, and recompute them when
/// the backward pass reaches it. Memory for the segment's intermediates is returned to the step
/// arena at once; only its outputs are kept. Gradients are identical to an unchecked run.
/// </summary>
public static class GradientCheckpoint
{
    /// <summary>
    /// Runs <paramref name="segment"/> on <paramref name="inputs"/>. The segment must be deterministic
    /// (it runs twice) and may read parameters that are not among the inputs.
    /// </summary>
    public static Tensor[] Run(Func<Tensor[], Tensor[]> segment, params Tensor[] inputs)
    {
        if (!Tape.IsRecording)
        {
            return segment(inputs);
        }
        if (inputs.Length == 0)
        {
            throw new ArgumentException("a checkpointed segment needs at least one input tensor");
        }
        StepScope scope = StepScope.For(inputs[0].Device)
            ?? throw new InvalidOperationException(
                $"gradient checkpointing frees activations from the step arena: open a step with {inputs[0].Device.Name}.BeginStep() first");

        ArenaMark mark = scope.Arena.Mark();
        Tensor[] outputs;
        using (Tape.Pause())
        {
            outputs = segment(inputs);
        }
        Tensor[] kept = KeepPastRelease(scope, outputs);
        scope.Arena.ReleaseTo(mark);

        Tape.Record("Checkpoint", inputs, kept, outputGradients => Recompute(scope, segment, inputs, outputGradients), force: true);
        return kept;
    }

    private static Tensor?[] Recompute(StepScope scope, Func<Tensor[], Tensor[]> segment, Tensor[] inputs, Tensor[] outputGradients)
    {
        ArenaMark mark = scope.Arena.Mark();
        // Views of the inputs that collect their gradients, standing in for them during recomputation.
        Tensor[] probes = inputs.Select(input => input.Alias(probe: input.TracksGrad)).ToArray();
        Tensor?[] inputGradients;
        using (Tape inner = Tape.Start())
        {
            Tensor[] outputs = segment(probes);
            using GradientMap gradients = inner.Propagate(outputs, outputGradients);
            Tape.AccumulateIntoLeaves(gradients);
            inputGradients = probes.Select(p => gradients.Take(p)).ToArray();
        }
        foreach (Tensor probe in probes)
        {
            probe.Dispose();
        }
        Tensor?[] kept = inputGradients.Select(g => g is null ? null : KeepPastRelease(scope, [g])[0]).ToArray();
        scope.Arena.ReleaseTo(mark);
        return kept;
    }

    private static Tensor[] KeepPastRelease(StepScope scope, Tensor[] tensors) =>
        tensors.Select(t =>
        {
            Tensor copy = t.Persist();
            scope.Adopt(copy);
            return copy;
        }).ToArray();
}
