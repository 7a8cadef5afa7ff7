using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine.Optim;

/// <summary>
/// torch.optim.AdamW over a set of parameters, on their device: f32 moments, and f32 master weights for
/// f16/bf16 parameters (the parameter is refreshed from its master after each update). Gradients may be
/// clipped to a global norm and unscaled from a loss scale; the factor is computed on the device, and a
/// non-finite gradient norm skips the whole update there.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly List<Slot> slots;

    /// <summary>The device's step state (<see cref="AdamWStepState"/>): gradient factor, t and bias corrections.</summary>
    private readonly Tensor stepState;

    public AdamW(IEnumerable<Tensor> parameters, float learningRate = 1e-4f, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 1e-2f)
    {
        slots = parameters.Select(p => new Slot(p)).ToList();
        if (slots.Count == 0)
        {
            throw new ArgumentException("AdamW needs at least one parameter");
        }
        if (slots.Any(s => !ReferenceEquals(s.Parameter.Device, slots[0].Parameter.Device)))
        {
            throw new ArgumentException("AdamW: every parameter must live on one device");
        }
        stepState = Tensor.EmptyOwned(new Shape(AdamWStepState.Count), DType.F32, slots[0].Parameter.Device);
        stepState.Device.Backend.Fill(DType.F32, stepState.View, AdamWStepState.Count, 0f);
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    public float LearningRate { get; set; }

    public float Beta1 { get; }

    public float Beta2 { get; }

    public float Epsilon { get; }

    public float WeightDecay { get; }

    /// <summary>Updates applied so far (the t of the bias corrections); steps skipped on the device do not count. Reads one scalar from the device.</summary>
    public int Steps => (int)stepState.ToArray()[1];

    /// <summary>
    /// One update from the parameters' gradients (parameters without one are left alone). Gradients are
    /// divided by <paramref name="lossScale"/> and clipped to <paramref name="maxGradNorm"/> (0: no clipping).
    /// Returns false when the step was skipped because the gradients overflowed; that answer needs one
    /// scalar read from the device, made only when a loss scale other than 1 is in use (without one, an
    /// overflow still skips the update on the device, and it does not count in <see cref="Steps"/>).
    /// </summary>
    public bool Step(float maxGradNorm = 0f, float lossScale = 1f)
    {
        Slot[] active = slots.Where(s => s.Parameter.Grad is not null).ToArray();
        if (active.Length == 0)
        {
            return false;
        }
        Device device = active[0].Parameter.Device;
        IBackend backend = device.Backend;
        using Tensor sumOfSquares = SumOfSquares(active);
        backend.PrepareAdamWStep(sumOfSquares.View, stepState.View, maxGradNorm, 1f / lossScale, Beta1, Beta2);
        if (lossScale != 1f && !float.IsFinite(stepState.ToArray()[0]))
        {
            return false;
        }
        var step = new AdamWStep(LearningRate, Beta1, Beta2, Epsilon, WeightDecay);
        foreach (Slot s in active)
        {
            Tensor grad = s.Parameter.Grad!;
            backend.AdamW(grad.DType, s.Master.View, grad.View, s.Moment1.View, s.Moment2.View, stepState.View, grad.Count, step);
            if (!ReferenceEquals(s.Master, s.Parameter))
            {
                backend.Convert(DType.F32, s.Master.View, s.Parameter.DType, s.Parameter.View, s.Parameter.Count);
            }
        }
        return true;
    }

    /// <summary>
    /// The optimizer's state as named f32 tensors, for a checkpoint: "adamw.state" (<see cref="AdamWStepState"/>),
    /// and per parameter (by its <see cref="Tensor.Name"/>) "adamw.m.NAME", "adamw.v.NAME" and, for 16-bit
    /// parameters, "adamw.master.NAME".
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateTensors()
    {
        yield return ("adamw.state", stepState);
        foreach (Slot s in slots)
        {
            string name = s.Parameter.Name ?? throw new InvalidOperationException("AdamW state needs named parameters");
            yield return ($"adamw.m.{name}", s.Moment1);
            yield return ($"adamw.v.{name}", s.Moment2);
            if (!ReferenceEquals(s.Master, s.Parameter))
            {
                yield return ($"adamw.master.{name}", s.Master);
            }
        }
    }

    /// <summary>Restores <see cref="StateTensors"/> from host values by name (the parameters themselves are restored by the caller).</summary>
    public void LoadState(Func<string, float[]> read)
    {
        foreach ((string name, Tensor tensor) in StateTensors())
        {
            float[] values = read(name);
            if (values.Length != tensor.Count)
            {
                throw new InvalidDataException($"optimizer state '{name}' holds {values.Length} values; this run's optimizer has {tensor.Count}");
            }
            tensor.Device.Backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), tensor.View);
        }
    }

    /// <summary>Drops every parameter's gradient before the next accumulation.</summary>
    public void ZeroGrad()
    {
        foreach (Slot s in slots)
        {
            s.Parameter.ZeroGrad();
        }
    }

    public void Dispose()
    {
        foreach (Slot s in slots)
        {
            s.Dispose();
        }
        stepState.Dispose();
    }

    /// <summary>Σ g² over every gradient, accumulated in f32 (f16 squares would overflow at 256).</summary>
    private static Tensor SumOfSquares(Slot[] active)
    {
        Tensor? total = null;
        foreach (Slot s in active)
        {
            Tensor grad = s.Parameter.Grad!;
            using Tensor wide = grad.DType == DType.F32 ? Ops.Copy(grad) : Ops.Convert(grad, DType.F32);
            using Tensor squares = wide * wide;
            Tensor sum = Ops.Sum(squares);
            if (total is null)
            {
                total = sum;
                continue;
            }
            Tensor next = total + sum;
            total.Dispose();
            sum.Dispose();
            total = next;
        }
        return total!;
    }

    /// <summary>A parameter with its optimizer state.</summary>
    private sealed class Slot : IDisposable
    {
        public Slot(Tensor parameter)
        {
            Parameter = parameter;
            Master = parameter.DType == DType.F32 ? parameter : MasterCopy(parameter);
            Moment1 = Tensor.EmptyOwned(parameter.Shape, DType.F32, parameter.Device);
            Moment2 = Tensor.EmptyOwned(parameter.Shape, DType.F32, parameter.Device);
            parameter.Device.Backend.Fill(DType.F32, Moment1.View, Moment1.Count, 0f);
            parameter.Device.Backend.Fill(DType.F32, Moment2.View, Moment2.Count, 0f);
        }

        public Tensor Parameter { get; }

        private static Tensor MasterCopy(Tensor parameter)
        {
            using Tensor wide = Ops.Convert(parameter, DType.F32);
            return wide.Persist();
        }

        /// <summary>The f32 weights AdamW updates: the parameter itself when it is f32.</summary>
        public Tensor Master { get; }

        public Tensor Moment1 { get; }

        public Tensor Moment2 { get; }

        public void Dispose()
        {
            if (!ReferenceEquals(Master, Parameter))
            {
                Master.Dispose();
            }
            Moment1.Dispose();
            Moment2.Dispose();
        }
    }
}
