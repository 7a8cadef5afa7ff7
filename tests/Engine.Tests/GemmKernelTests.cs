using Dsoup.Engine.Tests.Harness;
using Dsoup.Kernels.Cpu;

namespace Dsoup.Engine.Tests;

/// <summary>
/// The GEMM backends tested directly: every CPU micro-kernel this machine supports (forced one at a
/// time) and the ILGPU kernel, at shapes that cross every blocking boundary, with alpha, beta,
/// batch strides, transposes and 16-bit operands, against a float64 reference.
/// </summary>
public class GemmKernelTests
{
    public static TheoryData<string> CpuKernels()
    {
        var data = new TheoryData<string>();
        foreach (string name in CpuBackend.GemmKernels)
        {
            data.Add(name);
        }
        return data;
    }

    // (M, N, K): single elements, micro-tile edges, KC (256) and MC (192) crossings.
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (7, 33, 5), (8, 32, 256), (13, 47, 257), (193, 35, 300), (200, 70, 513),
    ];

    [Theory]
    [MemberData(nameof(CpuKernels))]
    public void CpuMicroKernelMatchesReference(string kernel)
    {
        var backend = new CpuBackend();
        backend.UseGemmKernel(kernel);
        foreach ((int m, int n, int k) in Shapes)
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    CheckGemm(backend, DType.F32, batch: 1, m, n, k, ta, tb, alpha: 1f, beta: 0f);
                }
            }
        }
        CheckGemm(backend, DType.F32, batch: 3, 9, 17, 11, false, true, alpha: 0.5f, beta: -2f);
    }

    [Fact]
    public void CpuGemmCrossesTheColumnPanel()
    {
        // N > NC (4096) forces a second packed B panel.
        CheckGemm(new CpuBackend(), DType.F32, batch: 1, 5, 4100, 37, false, false, 1f, 0f);
    }

    public static TheoryData<string, DType> DevicesAndDTypes()
    {
        var data = new TheoryData<string, DType>();
        foreach (string device in OpHarness.Devices)
        {
            foreach (DType dtype in DTypeInfo.All)
            {
                data.Add(device, dtype);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DevicesAndDTypes))]
    public void AlphaBetaAndBatchStridesOnEveryBackend(string device, DType dtype)
    {
        IBackend backend = Device.Get(device).Backend;
        CheckGemm(backend, dtype, batch: 2, 19, 67, 21, false, false, alpha: 1.5f, beta: 0.25f);
        CheckGemm(backend, dtype, batch: 2, 66, 5, 17, true, true, alpha: -1f, beta: 1f);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void EmptyInnerDimensionScalesCByBeta(string device)
    {
        IBackend backend = Device.Get(device).Backend;
        CheckGemm(backend, DType.F32, batch: 1, 4, 6, 0, false, false, alpha: 1f, beta: 0.5f);
        CheckGemm(backend, DType.F32, batch: 1, 4, 6, 0, false, false, alpha: 1f, beta: 0f);
    }

    [Fact]
    public void OperandsOutsideTheirBuffersAreRejected()
    {
        var backend = new CpuBackend();
        using DeviceBuffer small = backend.Allocate(16);
        using DeviceBuffer big = backend.Allocate(4096);
        var problem = new GemmProblem(1, 4, 4, 4, false, false, DType.F32,
            new BufferView(small, 0), 0, new BufferView(big, 0), 0, new BufferView(big, 0), 0);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => backend.Gemm(problem));
        Assert.Contains("GEMM operand A", error.Message);
    }

    internal static void CheckGemm(IBackend backend, DType dtype, int batch, int m, int n, int k, bool ta, bool tb, float alpha, float beta)
    {
        var random = new System.Random(m * 31 + n * 7 + k);
        double[] a = Reference.RandomValues(random, (long)batch * m * k, dtype);
        double[] b = Reference.RandomValues(random, (long)batch * k * n, dtype);
        double[] c = Reference.RandomValues(random, (long)batch * m * n, dtype);
        using DeviceBuffer da = Upload(backend, a, dtype);
        using DeviceBuffer db = Upload(backend, b, dtype);
        using DeviceBuffer dc = Upload(backend, c, dtype);
        backend.Gemm(new GemmProblem(batch, m, n, k, ta, tb, dtype,
            new BufferView(da, 0), (long)m * k, new BufferView(db, 0), (long)k * n, new BufferView(dc, 0), (long)m * n, alpha, beta));

        var expected = new double[c.Length];
        for (int i = 0; i < batch; i++)
        {
            double[] product = Reference.MatMul(a.Skip(i * m * k).Take(m * k).ToArray(), b.Skip(i * k * n).Take(k * n).ToArray(), m, n, k, ta, tb);
            for (int j = 0; j < m * n; j++)
            {
                expected[i * m * n + j] = alpha * product[j] + beta * c[i * m * n + j];
            }
        }
        double rtol = OpHarness.Tolerance(dtype);
        double magnitude = Math.Max(1, Math.Sqrt(k));
        Reference.AssertClose(Download(backend, dc, c.Length, dtype), expected, rtol, rtol * magnitude,
            $"GEMM {batch}×{m}×{n}×{k} ta={ta} tb={tb} {dtype.Name()} on {backend.Name}");
    }

    private static DeviceBuffer Upload(IBackend backend, double[] values, DType dtype)
    {
        DeviceBuffer buffer = backend.Allocate(Math.Max(1, values.Length) * dtype.Size());
        using Tensor encoded = Tensor.FromArray(Reference.ToFloats(values), new Shape(values.Length), dtype, Device.Cpu);
        backend.Upload(encoded.ToBytes(), new BufferView(buffer, 0));
        return buffer;
    }

    private static float[] Download(IBackend backend, DeviceBuffer buffer, int count, DType dtype)
    {
        var bytes = new byte[count * dtype.Size()];
        backend.Download(new BufferView(buffer, 0), bytes);
        using Tensor decoded = Tensor.FromBytes(bytes, new Shape(count), dtype, Device.Cpu);
        return decoded.ToArray();
    }
}
