using System.Runtime.InteropServices;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Random;
using Dsoup.Kernels;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Tensors;

/// <summary>
/// A dense, row-major array of one <see cref="DType"/> on one <see cref="Device"/>. Reshape and
/// first-axis slices are views that share memory; everything else makes a new tensor.
/// Created inside a step (<see cref="Device.BeginStep"/>) a tensor is freed when the step ends;
/// created outside, it is freed by <see cref="Dispose"/>.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly Storage storage;
    private readonly long byteOffset;
    private bool disposed;

    internal Tensor(Storage storage, long byteOffset, Shape shape, DType dtype)
    {
        this.storage = storage;
        this.byteOffset = byteOffset;
        Shape = shape;
        DType = dtype;
    }

    public Shape Shape { get; }

    public DType DType { get; }

    public Device Device => storage.Device;

    public long Count => Shape.Count;

    public long ByteCount => Count * DType.Size();

    /// <summary>An optional name (a parameter's checkpoint key) used in messages.</summary>
    public string? Name { get; set; }

    /// <summary>Marks a leaf (a parameter) whose gradient <see cref="Tape.Backward"/> accumulates into <see cref="Grad"/>.</summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            requiresGrad = value;
            TracksGrad |= value;
        }
    }

    /// <summary>The accumulated gradient of a <see cref="RequiresGrad"/> leaf; lives until disposed or zeroed.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>True for leaves that want gradients and for results of recorded ops on them.</summary>
    internal bool TracksGrad { get; set; }

    /// <summary>A stand-in leaf whose gradient is collected but never accumulated into <see cref="Grad"/>.</summary>
    internal bool IsGradientProbe { get; init; }

    private bool requiresGrad;

    internal BufferView View => ViewAt(0);

    /// <summary>A view of the same bytes with the given element offset (for ops writing into part of a tensor).</summary>
    internal BufferView ViewAt(long element)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return storage.View(byteOffset + element * DType.Size(), Describe());
    }

    internal bool IsStepMemory => storage.IsStepMemory;

    public static Tensor Empty(Shape shape, DType dtype = DType.F32, Device? device = null)
    {
        device ??= Device.Default;
        return new Tensor(Storage.Allocate(device, shape.Count * dtype.Size()), 0, shape, dtype);
    }

    /// <summary>A tensor that survives any open step (parameters, optimizer state, accumulated gradients).</summary>
    public static Tensor EmptyOwned(Shape shape, DType dtype = DType.F32, Device? device = null)
    {
        device ??= Device.Default;
        return new Tensor(Storage.AllocateOwned(device, shape.Count * dtype.Size()), 0, shape, dtype);
    }

    public static Tensor Full(Shape shape, float value, DType dtype = DType.F32, Device? device = null)
    {
        Tensor t = Empty(shape, dtype, device);
        t.Device.Backend.Fill(dtype, t.View, t.Count, value);
        return t;
    }

    public static Tensor Zeros(Shape shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 0f, dtype, device);

    public static Tensor Ones(Shape shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 1f, dtype, device);

    /// <summary>Copies host values in, rounding to <paramref name="dtype"/> (nearest even).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> values, Shape shape, DType dtype = DType.F32, Device? device = null)
    {
        if (values.Length != shape.Count)
        {
            throw new ArgumentException($"{values.Length} values cannot fill shape {shape} ({shape.Count} elements)");
        }
        return FromBytes(Encode(values, dtype), shape, dtype, device);
    }

    /// <summary>Copies raw little-endian bytes of <paramref name="dtype"/> in.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, Shape shape, DType dtype, Device? device = null)
    {
        long expected = shape.Count * dtype.Size();
        if (bytes.Length != expected)
        {
            throw new ArgumentException($"{bytes.Length} bytes cannot fill shape {shape} of {dtype.Name()} ({expected} bytes expected)");
        }
        Tensor t = Empty(shape, dtype, device);
        t.Device.Backend.Upload(bytes, t.View);
        return t;
    }

    /// <summary>Standard normal samples; the same numbers for a given (seed, offset) on every device.</summary>
    public static Tensor RandN(Shape shape, ulong seed, DType dtype = DType.F32, Device? device = null, ulong offset = 0)
    {
        var values = new float[shape.Count];
        NormalSampler.Fill(values, seed, offset);
        return FromArray(values, shape, dtype, device);
    }

    /// <summary>Uniform samples in [0, 1) from Philox, generated on the device; bit-identical on every device.</summary>
    public static Tensor RandUniform(Shape shape, ulong seed, DType dtype = DType.F32, Device? device = null, ulong offset = 0)
    {
        Tensor t = Empty(shape, dtype, device);
        t.Device.Backend.FillUniform(dtype, t.View, t.Count, seed, offset);
        return t;
    }

    /// <summary>The values as f32 on the host.</summary>
    public float[] ToArray()
    {
        byte[] bytes = ToBytes();
        var values = new float[Count];
        switch (DType)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                break;
            case DType.F16:
                HalfBits.F16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), values);
                break;
            default:
                HalfBits.BF16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), values);
                break;
        }
        return values;
    }

    /// <summary>The raw bytes in this tensor's dtype.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[ByteCount];
        Device.Backend.Download(View, bytes);
        return bytes;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Count != 1)
        {
            throw new InvalidOperationException($"Item() needs exactly one element; {Describe()} has {Count}");
        }
        return ToArray()[0];
    }

    /// <summary>A view with new dimensions (one may be -1) over the same memory.</summary>
    public Tensor Reshape(params int[] dims)
    {
        Shape target = ResolveReshape(dims);
        storage.AddReference();
        var view = new Tensor(storage, byteOffset, target, DType);
        Tape.Record("Reshape", [this], view, g => [g.Reshape(Shape.Dims.ToArray())]);
        return view;
    }

    /// <summary>A view of rows [start, start + length) along the first axis.</summary>
    public Tensor Slice(int start, int length)
    {
        if (Shape.Rank == 0)
        {
            throw new InvalidOperationException("Slice needs a tensor of rank ≥ 1; got a scalar");
        }
        if (start < 0 || length < 0 || start + length > Shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(start),
                $"Slice [{start}, {start + length}) is outside the first axis of {Describe()} (size {Shape[0]})");
        }
        long rowBytes = Shape.Product(1, Shape.Rank) * DType.Size();
        storage.AddReference();
        var view = new Tensor(storage, byteOffset + start * rowBytes, Shape.Replace(0, length), DType);
        Tape.Record("Slice", [this], view, g => [Ops.PadRows(g, start, Shape[0])]);
        return view;
    }

    /// <summary>Another tensor object over the same memory; a probe collects its gradient for checkpointing.</summary>
    internal Tensor Alias(bool probe)
    {
        storage.AddReference();
        return new Tensor(storage, byteOffset, Shape, DType) { IsGradientProbe = probe, TracksGrad = probe };
    }

    /// <summary>A copy in owned memory that outlives the current step.</summary>
    public Tensor Persist()
    {
        Tensor copy = EmptyOwned(Shape, DType, Device);
        Device.Backend.Copy(View, copy.View, ByteCount);
        return copy;
    }

    /// <summary>A copy on <paramref name="target"/> (through the host when devices differ).</summary>
    public Tensor To(Device target)
    {
        if (ReferenceEquals(target, Device))
        {
            return Ops.Copy(this);
        }
        return FromBytes(ToBytes(), Shape, DType, target);
    }

    public Tensor ToDType(DType dtype) => Ops.Convert(this, dtype);

    public static Tensor operator +(Tensor left, Tensor right) => Ops.Add(left, right);

    public static Tensor operator -(Tensor left, Tensor right) => Ops.Subtract(left, right);

    public static Tensor operator *(Tensor left, Tensor right) => Ops.Multiply(left, right);

    public static Tensor operator *(Tensor tensor, float alpha) => Ops.Scale(tensor, alpha);

    public static Tensor operator *(float alpha, Tensor tensor) => Ops.Scale(tensor, alpha);

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        storage.Release();
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>Frees the accumulated gradient (before the next accumulation round).</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public override string ToString() => Describe();

    internal string Describe() => $"{(Name is null ? "tensor" : $"'{Name}'")} {Shape} {DType.Name()} on {Device.Name}";

    private Shape ResolveReshape(int[] dims)
    {
        int inferred = Array.IndexOf(dims, -1);
        if (inferred >= 0 && Array.LastIndexOf(dims, -1) != inferred)
        {
            throw new ArgumentException($"Reshape of {Describe()}: at most one dimension may be -1, got [{string.Join(", ", dims)}]");
        }
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (i != inferred)
            {
                if (dims[i] < 0)
                {
                    throw new ArgumentException($"Reshape of {Describe()}: dimension {dims[i]} is negative");
                }
                known *= dims[i];
            }
        }
        if (inferred >= 0)
        {
            if (known == 0 || Count % known != 0)
            {
                throw new ArgumentException($"Reshape of {Describe()} to [{string.Join(", ", dims)}]: {Count} elements do not divide evenly");
            }
            dims = (int[])dims.Clone();
            dims[inferred] = (int)(Count / known);
            known = Count;
        }
        if (known != Count)
        {
            throw new ArgumentException(
                $"Reshape of {Describe()} to [{string.Join(", ", dims)}]: expected {Count} elements, the new shape holds {known}");
        }
        return new Shape(dims);
    }

    private static byte[] Encode(ReadOnlySpan<float> values, DType dtype)
    {
        var bytes = new byte[(long)values.Length * dtype.Size()];
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(bytes);
                break;
            case DType.F16:
                HalfBits.SingleToF16(values, MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()));
                break;
            default:
                HalfBits.SingleToBF16(values, MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()));
                break;
        }
        return bytes;
    }
}
