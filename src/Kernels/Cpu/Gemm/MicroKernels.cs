using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>
/// A register-blocked kernel computing one MR×NR tile of C from packed slivers:
/// C = alpha · Σ_k a[k][0..MR) ⊗ b[k][0..NR) + beta · C. It always computes a whole tile;
/// the driver handles edges through a scratch tile.
/// </summary>
internal sealed unsafe class MicroKernel
{
    private MicroKernel(string name, int mr, int nr, delegate*<int, float*, float*, float*, long, float, float, void> run)
    {
        Name = name;
        MR = mr;
        NR = nr;
        Run = run;
    }

    public string Name { get; }

    public int MR { get; }

    public int NR { get; }

    public delegate*<int, float*, float*, float*, long, float, float, void> Run { get; }

    public static readonly MicroKernel Avx512Tile = new("avx512-8x32", 8, 32, &Avx512Kernel8x32);

    public static readonly MicroKernel Avx2Tile = new("avx2-6x16", 6, 16, &Avx2Kernel6x16);

    public static readonly MicroKernel PortableTile = new("portable-4x4", 4, 4, &PortableKernel4x4);

    /// <summary>Kernels this CPU can run, fastest first.</summary>
    public static IReadOnlyList<MicroKernel> Supported { get; } = FindSupported();

    public static MicroKernel Best => Supported[0];

    private static List<MicroKernel> FindSupported()
    {
        var list = new List<MicroKernel>();
        if (Avx512F.IsSupported)
        {
            list.Add(Avx512Tile);
        }
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            list.Add(Avx2Tile);
        }
        list.Add(PortableTile);
        return list;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, float alpha, float beta)
    {
        var a = Vector512.Create(alpha);
        v0 *= a;
        v1 *= a;
        if (beta != 0f)
        {
            var b = Vector512.Create(beta);
            v0 = Avx512F.FusedMultiplyAdd(Vector512.Load(c), b, v0);
            v1 = Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), b, v1);
        }
        Vector512.Store(v0, c);
        Vector512.Store(v1, c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Kernel8x32(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++)
        {
            Vector512<float> b0 = Vector512.LoadAligned(b);
            Vector512<float> b1 = Vector512.LoadAligned(b + 16);
            Vector512<float> av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(av, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(av, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(av, b1, c71);
            a += 8;
            b += 32;
        }
        Store512(c, c00, c01, alpha, beta);
        Store512(c + ldc, c10, c11, alpha, beta);
        Store512(c + 2 * ldc, c20, c21, alpha, beta);
        Store512(c + 3 * ldc, c30, c31, alpha, beta);
        Store512(c + 4 * ldc, c40, c41, alpha, beta);
        Store512(c + 5 * ldc, c50, c51, alpha, beta);
        Store512(c + 6 * ldc, c60, c61, alpha, beta);
        Store512(c + 7 * ldc, c70, c71, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, float alpha, float beta)
    {
        var a = Vector256.Create(alpha);
        v0 *= a;
        v1 *= a;
        if (beta != 0f)
        {
            var b = Vector256.Create(beta);
            v0 = Fma.MultiplyAdd(Vector256.Load(c), b, v0);
            v1 = Fma.MultiplyAdd(Vector256.Load(c + 8), b, v1);
        }
        Vector256.Store(v0, c);
        Vector256.Store(v1, c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2Kernel6x16(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            Vector256<float> b0 = Vector256.LoadAligned(b);
            Vector256<float> b1 = Vector256.LoadAligned(b + 8);
            Vector256<float> av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += 6;
            b += 16;
        }
        Store256(c, c00, c01, alpha, beta);
        Store256(c + ldc, c10, c11, alpha, beta);
        Store256(c + 2 * ldc, c20, c21, alpha, beta);
        Store256(c + 3 * ldc, c30, c31, alpha, beta);
        Store256(c + 4 * ldc, c40, c41, alpha, beta);
        Store256(c + 5 * ldc, c50, c51, alpha, beta);
    }

    /// <summary>Plain scalar code for CPUs without AVX2/FMA; correct everywhere, fast nowhere.</summary>
    private static void PortableKernel4x4(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        float* acc = stackalloc float[16];
        new Span<float>(acc, 16).Clear();
        for (int k = 0; k < kc; k++)
        {
            for (int r = 0; r < 4; r++)
            {
                float av = a[r];
                for (int j = 0; j < 4; j++)
                {
                    acc[r * 4 + j] += av * b[j];
                }
            }
            a += 4;
            b += 4;
        }
        for (int r = 0; r < 4; r++)
        {
            for (int j = 0; j < 4; j++)
            {
                float v = alpha * acc[r * 4 + j];
                c[r * ldc + j] = beta != 0f ? v + beta * c[r * ldc + j] : v;
            }
        }
    }
}
