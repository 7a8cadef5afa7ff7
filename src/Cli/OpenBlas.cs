using System.Runtime.InteropServices;

namespace Dsoup.Cli;

/// <summary>
/// OpenBLAS's sgemm, loaded at run time where the library is installed (Debian: libopenblas0-pthread),
/// as the baseline the convolution benchmark is measured against. dsoup never needs it to run.
/// </summary>
internal static class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private delegate void SgemmFunction(int order, int transA, int transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc);

    private static readonly Lazy<SgemmFunction?> Function = new(Load);

    public static bool Available => Function.Value is not null;

    /// <summary>C[m, n] = op(A)·op(B) + beta·C, row-major, with offsets applied by the caller through array slices of whole matrices.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float[] a, float[] b, float beta, float[] c)
    {
        SgemmFunction sgemm = Function.Value ?? throw new InvalidOperationException("OpenBLAS is not installed (libopenblas.so.0)");
        sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, 1f,
            a, transA ? m : k, b, transB ? k : n, beta, c, n);
    }

    private static SgemmFunction? Load()
    {
        foreach (string name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
        {
            if (NativeLibrary.TryLoad(name, out nint library) && NativeLibrary.TryGetExport(library, "cblas_sgemm", out nint address))
            {
                return Marshal.GetDelegateForFunctionPointer<SgemmFunction>(address);
            }
        }
        return null;
    }
}
