using Dsoup.Engine.Autograd;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;

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
        // Keep the result in owned memory while the block's arena memory is released, then copy it back down.
        using Tensor kept = result.Persist();
        scope.Arena.ReleaseTo(mark);
        Tensor moved = Tensor.Empty(kept.Shape, kept.DType, device);
        device.Backend.Copy(kept.View, moved.View, kept.ByteCount);
        moved.Name = result.Name;
        return moved;
    }
}
