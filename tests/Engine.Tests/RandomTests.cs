using Dsoup.Engine.Random;
using Dsoup.Kernels.Random;

namespace Dsoup.Engine.Tests;

public class RandomTests
{
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627E8D5u, 0xE169C58Du, 0xBC57AC4Cu, 0x9B00DBD8u)]
    [InlineData(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0x408F276Du, 0x41C83B0Eu, 0xA20BC7C6u, 0x6D5451FDu)]
    [InlineData(0x243F6A88u, 0x85A308D3u, 0x13198A2Eu, 0x03707344u, 0xA4093822u, 0x299F31D0u, 0xD16CFE09u, 0x94FDCCEBu, 0x5001E420u, 0x24126EA1u)]
    public void PhiloxMatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
        uint e0, uint e1, uint e2, uint e3)
    {
        PhiloxBlock block = Philox.Encrypt(c0, c1, c2, c3, k0, k1);
        Assert.Equal([e0, e1, e2, e3], new[] { block.W0, block.W1, block.W2, block.W3 });
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void UniformSamplesAreBitIdenticalOnEveryBackend(DType dtype)
    {
        using Tensor cpu = Tensor.RandUniform(new Shape(1001), 42, dtype, Device.Cpu, offset: 3);
        using Tensor gpu = Tensor.RandUniform(new Shape(1001), 42, dtype, Device.Get("ilgpu-cpu"), offset: 3);
        Assert.Equal(cpu.ToBytes(), gpu.ToBytes());
        Assert.All(cpu.ToArray(), v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void NormalSamplesAreBitIdenticalOnEveryBackend()
    {
        using Tensor cpu = Tensor.RandN(new Shape(4, 257), 9, device: Device.Cpu);
        using Tensor gpu = Tensor.RandN(new Shape(4, 257), 9, device: Device.Get("ilgpu-cpu"));
        Assert.Equal(cpu.ToBytes(), gpu.ToBytes());
    }

    [Fact]
    public void AStreamContinuesAcrossOffsets()
    {
        var whole = new float[64];
        var tail = new float[61];
        NormalSampler.Fill(whole, 5, 0);
        NormalSampler.Fill(tail, 5, 3);
        Assert.Equal(whole[3..], tail);
        using Tensor u = Tensor.RandUniform(new Shape(64), 5, device: Device.Cpu);
        using Tensor v = Tensor.RandUniform(new Shape(61), 5, device: Device.Cpu, offset: 3);
        Assert.Equal(u.ToArray()[3..], v.ToArray());
    }

    [Fact]
    public void NormalSamplesHaveUnitMomentsAndSeedsDiffer()
    {
        var x = new float[200_000];
        NormalSampler.Fill(x, 1234, 0);
        double mean = x.Average(v => (double)v);
        double variance = x.Average(v => (v - mean) * (v - mean));
        double kurtosis = x.Average(v => Math.Pow(v - mean, 4)) / (variance * variance);
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.InRange(kurtosis, 2.9, 3.1);
        var y = new float[16];
        NormalSampler.Fill(y, 1235, 0);
        Assert.NotEqual(x[..16], y);
    }
}
