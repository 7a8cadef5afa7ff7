using Dsoup.Engine.Autograd;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine.Memory;

/// <summary>
/// Inference memory by blocks: a model's block runs inside the open step, and afterwards everything it
/// allocated is returned to the step arena except its result, which is moved down to where the block began.
/// Peak memory is then the largest block's activations plus what the caller keeps, not the sum over the
/// whole network. While a tape records, nothing is freed (backward reads the activations).
/// </summary>
public static class BlockMemory
{
    public static Tensor Run(Device device, Func<Tensor> block)
    {
        StepScope? scope = StepScope.For(device);
        if (scope is null || Tape.IsRecording)
        {
            return block();
        }
        ArenaMark mark = scope.Arena.Mark();
        Tensor result = block();
        if (!result.IsStepMemory)
        {
            return result;
        }
        BufferView source = result.View;
        long bytes = result.ByteCount;
        scope.Arena.ReleaseTo(mark);
        Tensor moved = Tensor.Empty(result.Shape, result.DType, device);
        BufferView destination = moved.View;
        if (Overlap(source, destination, bytes))
        {
            // The result lies partly where it is moving to: go through a copy outside the arena.
            using Tensor kept = Tensor.EmptyOwned(result.Shape, result.DType, device);
            device.Backend.Copy(source, kept.View, bytes);
            device.Backend.Copy(kept.View, destination, bytes);
        }
        else if (source != destination)
        {
            device.Backend.Copy(source, destination, bytes);
        }
        moved.Name = result.Name;
        return moved;
    }

    private static bool Overlap(BufferView a, BufferView b, long bytes) =>
        ReferenceEquals(a.Buffer, b.Buffer) && a.ByteOffset != b.ByteOffset
        && a.ByteOffset < b.ByteOffset + bytes && b.ByteOffset < a.ByteOffset + bytes;
}
