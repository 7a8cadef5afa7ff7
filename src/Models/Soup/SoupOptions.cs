using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>Everything that decides what a soup computes (the recipe), apart from the ingredients themselves.</summary>
public sealed record SoupOptions
{
    public SoupMethod Method { get; init; } = SoupMethod.Uniform;

    /// <summary>One weight per input (null: all 1).</summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>λ: scale of the merged task vector (task arithmetic, TIES, DARE).</summary>
    public double Lambda { get; init; } = 1.0;

    /// <summary>TIES: fraction of each task vector's entries kept, by magnitude.</summary>
    public double Density { get; init; } = 0.2;

    /// <summary>DARE: probability p of dropping each task-vector entry.</summary>
    public double DropRate { get; init; } = 0.5;

    /// <summary>DARE: seed of the Philox stream the drop masks come from.</summary>
    public ulong Seed { get; init; }

    /// <summary>Add difference: α in A + α(B − C).</summary>
    public double Alpha { get; init; } = 1.0;

    public KeyPolicy KeyPolicy { get; init; } = KeyPolicy.Strict;

    public TensorFilter Filter { get; init; } = TensorFilter.All;

    /// <summary>EMA copies are merged neither way by default: dropped, or used as the UNet's weights.</summary>
    public EmaPolicy Ema { get; init; } = EmaPolicy.Drop;

    /// <summary>Output layout; null: the inputs' when they agree, else the first input's.</summary>
    public CheckpointLayout? Layout { get; init; }

    /// <summary>Output dtype of floating-point tensors; null: the first input's dtype of each tensor.</summary>
    public Kernels.DType? DType { get; init; }

    /// <summary>Bytes the merge may hold in buffers and accumulators, whatever the model size or input count.</summary>
    public long MaxMemory { get; init; } = 256L << 20;

    /// <summary>How the ingredients were chosen (a greedy search's scores and decisions, as JSON), recorded in the recipe; null when they were given.</summary>
    public string? Selection { get; init; }
}
