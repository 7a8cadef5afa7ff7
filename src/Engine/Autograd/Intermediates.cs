using Dsoup.Engine.Tensors;

namespace Dsoup.Engine.Autograd;

/// <summary>
/// The temporaries of an op built from other ops. Without a recording tape they are freed when the op
/// returns; while a tape records, the backward rules of the inner ops still read them, so they are left
/// to the step arena, which frees them when the step ends.
/// </summary>
internal sealed class Intermediates : IDisposable
{
    private readonly List<Tensor> tensors = [];
    private readonly bool recording = Tape.IsRecording;

    public Tensor Add(Tensor tensor)
    {
        tensors.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        if (recording)
        {
            return;
        }
        foreach (Tensor tensor in tensors)
        {
            tensor.Dispose();
        }
    }
}
