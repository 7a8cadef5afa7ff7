using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints.Safetensors;

namespace Dsoup.Models.Tests.Models;

/// <summary>One of the diffusers-made model folders in Fixtures/models (make_model_fixtures.py) and its io.safetensors.</summary>
public sealed class ModelFixture : IDisposable
{
    private readonly SafetensorsReader io;

    public ModelFixture(string name)
    {
        Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", name);
        io = SafetensorsReader.Open(Path.Combine(Folder, "io.safetensors"));
        Checkpoint = ModelCheckpoint.Open(Folder);
    }

    public static IReadOnlyList<string> Names { get; } = ["sd1-tiny", "sd2-tiny"];

    public string Folder { get; }

    public ModelCheckpoint Checkpoint { get; }

    public string Config(string component) => Path.Combine(Folder, component, "config.json");

    public float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(Bytes(name, StorageType.F32)).ToArray();

    public int[] Ints(string name) => MemoryMarshal.Cast<byte, int>(Bytes(name, StorageType.I32)).ToArray();

    public int[] Shape(string name) => Entry(name).Shape.Select(d => (int)d).ToArray();

    public Tensor Tensor(string name, Device device) =>
        Dsoup.Engine.Tensors.Tensor.FromArray(Floats(name), new Shape(Shape(name)), DType.F32, device);

    /// <summary>|actual − expected| ≤ rtol·(|expected| + max|expected|) element by element.</summary>
    public static void AssertClose(float[] expected, float[] actual, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        Assert.True(scale > 0, $"{what}: the reference is all zeros, so the comparison would prove nothing");
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = rtol * (Math.Abs(expected[i]) + scale);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}: element {i} is {actual[i]}, diffusers gives {expected[i]} (tolerance {tolerance:G3})");
        }
    }

    private TensorEntry Entry(string name) => io.Tensors.Single(t => t.Name == name);

    private ReadOnlySpan<byte> Bytes(string name, StorageType type)
    {
        TensorEntry entry = Entry(name);
        Assert.Equal(type, entry.Type);
        return entry.Bytes(0, (int)entry.ByteLength);
    }

    public void Dispose()
    {
        Checkpoint.Dispose();
        io.Dispose();
    }
}
