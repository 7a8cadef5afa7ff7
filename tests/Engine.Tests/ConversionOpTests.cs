using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tests.Harness;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Tests;

public class ConversionOpTests
{
    public static TheoryData<string, DType, DType> Pairs()
    {
        var data = new TheoryData<string, DType, DType>();
        foreach (string device in OpHarness.Devices)
        {
            foreach (DType from in DTypeInfo.All)
            {
                foreach (DType to in DTypeInfo.All)
                {
                    data.Add(device, from, to);
                }
            }
        }
        return data;
    }

    /// <summary>Values where rounding decides: ties, subnormals, overflow, signed zero, NaN, infinity.</summary>
    private static float[] EdgeValues()
    {
        var values = new List<float> { 0f, -0f, 1f, -2.5f, 65504f, 65520f, 1e-7f, -6e-8f, 3.0e38f, float.NaN, float.PositiveInfinity, float.NegativeInfinity };
        for (int h = 1; h < 0x7C00; h += 997)
        {
            values.Add((HalfBits.F16ToSingle((ushort)h) + HalfBits.F16ToSingle((ushort)(h + 1))) / 2);
        }
        for (int b = 0x3F00; b < 0x4400; b += 101)
        {
            values.Add((HalfBits.BF16ToSingle((ushort)b) + HalfBits.BF16ToSingle((ushort)(b + 1))) / 2);
        }
        return [.. values];
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void ConvertRoundsExactlyLikeTheHostConversion(string device, DType from, DType to)
    {
        Device d = Device.Get(device);
        float[] values = EdgeValues();
        using Tensor source = Tensor.FromArray(values, new Shape(values.Length), from, d);
        float[] stored = source.ToArray();
        using Tensor converted = source.ToDType(to);
        Assert.Equal(to, converted.DType);
        float[] actual = converted.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            float expected = (float)Reference.Round(stored[i], to);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(actual[i]), $"element {i}: NaN became {actual[i]}");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual[i]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void ConvertPassesGradientsBackInTheSourceDtype(string device, DType from, DType to)
    {
        Device d = Device.Get(device);
        using var step = d.BeginStep();
        var values = Reference.RandomValues(new System.Random(3), 12, from);
        Tensor x = Tensor.FromArray(Reference.ToFloats(values), new Shape(3, 4), from, d);
        x.RequiresGrad = true;
        var seedValues = Reference.RandomValues(new System.Random(4), 12, to);
        using (Tape tape = Tape.Start())
        {
            Tensor y = x.ToDType(to);
            tape.Backward(y, Tensor.FromArray(Reference.ToFloats(seedValues), y.Shape, to, d));
        }
        Assert.Equal(from, x.Grad!.DType);
        Reference.AssertClose(x.Grad.ToArray(), seedValues.Select(v => Reference.Round(v, from)).ToArray(), 0, 0, "gradient");
        x.Dispose();
    }
}
