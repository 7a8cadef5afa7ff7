using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

/// <summary>
/// Records ops on tensors that track gradients, then runs them backwards. Start one per step;
/// <see cref="Backward"/> adds gradients into <see cref="Tensor.Grad"/> of every leaf with
/// <see cref="Tensor.RequiresGrad"/> (so gradients accumulate across calls until zeroed) and consumes
/// the tape. Tapes nest: the innermost open tape on a thread records.
/// </summary>
public sealed class Tape : IDisposable
{
    [ThreadStatic]
    private static Tape? active;

    private readonly Tape? outer;
    private readonly List<TapeNode> nodes = [];
    private int pauseDepth;
    private bool used;
    private bool disposed;

    private Tape()
    {
        outer = active;
        active = this;
    }

    /// <summary>Opens a tape that records on this thread until disposed.</summary>
    public static Tape Start() => new();

    /// <summary>True when an op run now on this thread would be recorded.</summary>
    public static bool IsRecording => active is { pauseDepth: 0 };

    public int NodeCount => nodes.Count;

    /// <summary>Stops recording on the active tape until the returned handle is disposed.</summary>
    public static PauseHandle Pause()
    {
        Tape? tape = active;
        if (tape is not null)
        {
            tape.pauseDepth++;
        }
        return new PauseHandle(tape);
    }

    internal static void Record(string op, Tensor[] inputs, Tensor output, Func<Tensor, Tensor?[]> backward) =>
        Record(op, inputs, [output], grads => backward(grads[0]), force: false);

    /// <summary>
    /// Records an op if a tape is recording and an input tracks gradients (or <paramref name="force"/>:
    /// the op may read parameters the inputs do not show, as a checkpointed segment does).
    /// </summary>
    internal static void Record(string op, Tensor[] inputs, Tensor[] outputs, BackwardFunction backward, bool force)
    {
        if (!IsRecording || !(force || inputs.Any(t => t.TracksGrad)))
        {
            return;
        }
        foreach (Tensor output in outputs)
        {
            output.TracksGrad = true;
        }
        active!.nodes.Add(new TapeNode(op, inputs, outputs, backward));
    }

    /// <summary>
    /// Backpropagates from <paramref name="loss"/>: a one-element tensor, or any tensor with an explicit
    /// <paramref name="seed"/> gradient of the same shape and dtype.
    /// </summary>
    public void Backward(Tensor loss, Tensor? seed = null)
    {
        if (seed is null && loss.Count != 1)
        {
            throw new ArgumentException($"Backward needs a one-element loss, or a seed gradient; got {loss}");
        }
        bool ownSeed = seed is null;
        seed ??= Tensor.Ones(loss.Shape, loss.DType, loss.Device);
        try
        {
            using GradientMap gradients = Propagate([loss], [seed]);
            AccumulateIntoLeaves(gradients);
        }
        finally
        {
            if (ownSeed)
            {
                seed.Dispose();
            }
        }
    }

    /// <summary>Runs the recorded ops backwards from the roots; the caller disposes the returned map.</summary>
    internal GradientMap Propagate(IReadOnlyList<Tensor> roots, IReadOnlyList<Tensor> seeds)
    {
        if (used)
        {
            throw new InvalidOperationException("this tape has already been run backwards; record a new one");
        }
        used = true;
        var gradients = new GradientMap();
        for (int i = 0; i < roots.Count; i++)
        {
            Autograd.GradientChecks.Match("seed gradient", roots[i], seeds[i]);
            gradients.Seed(roots[i], seeds[i]);
        }
        using (Pause())
        {
            for (int n = nodes.Count - 1; n >= 0; n--)
            {
                TapeNode node = nodes[n];
                if (!node.Outputs.Any(o => gradients.Get(o) is not null))
                {
                    continue;
                }
                Tensor[] outputGradients = node.Outputs
                    .Select(o => gradients.Get(o) ?? gradients.Own(Tensor.Zeros(o.Shape, o.DType, o.Device)))
                    .ToArray();
                Tensor?[] inputGradients = node.Backward(outputGradients);
                for (int i = 0; i < node.Inputs.Length; i++)
                {
                    Tensor input = node.Inputs[i];
                    Tensor? gradient = inputGradients[i];
                    if (gradient is null)
                    {
                        continue;
                    }
                    if (!input.TracksGrad)
                    {
                        gradient.Dispose();
                        continue;
                    }
                    GradientChecks.Match($"gradient from {node.Op}", input, gradient);
                    gradients.Accumulate(input, gradient);
                }
            }
        }
        nodes.Clear();
        return gradients;
    }

    internal static void AccumulateIntoLeaves(GradientMap gradients)
    {
        foreach ((Tensor tensor, Tensor gradient) in gradients.Entries)
        {
            if (!tensor.RequiresGrad || tensor.IsGradientProbe)
            {
                continue;
            }
            if (tensor.Grad is null)
            {
                tensor.Grad = gradient.Persist();
            }
            else
            {
                tensor.Device.Backend.Axpy(tensor.DType, 1f, gradient.View, tensor.Grad.View, tensor.Grad.View, tensor.Count);
            }
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        if (ReferenceEquals(active, this))
        {
            active = outer;
        }
        nodes.Clear();
    }

    /// <summary>Resumes recording when disposed.</summary>
    public readonly struct PauseHandle(Tape? tape) : IDisposable
    {
        public void Dispose()
        {
            if (tape is not null)
            {
                tape.pauseDepth--;
            }
        }
    }
}
