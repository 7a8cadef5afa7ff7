using System.Runtime.InteropServices;

namespace Dsoup.Benchmarks;

/// <summary>
/// OpenBLAS's cblas_sgemm through P/Invoke, as a baseline only (the engine does not depend on it).
/// Loaded from Debian's libopenblas0 when present.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111;

    private static readonly nint Library = NativeLibrary.TryLoad("libopenblas.so.0", out nint handle) ? handle : 0;

    public static bool Available => Library != 0;

    /// <summary>The kernel OpenBLAS picked for this CPU (it honours OPENBLAS_CORETYPE).</summary>
    public static string CoreName =>
        Available ? Marshal.PtrToStringAnsi(((delegate* unmanaged<nint>)NativeLibrary.GetExport(Library, "openblas_get_corename"))()) ?? "?" : "not installed";

    public static int Threads => Available ? ((delegate* unmanaged<int>)NativeLibrary.GetExport(Library, "openblas_get_num_threads"))() : 0;

    public static void Sgemm(int m, int n, int k, float* a, float* b, float* c)
    {
        var sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(Library, "cblas_sgemm");
        sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1f, a, k, b, n, 0f, c, n);
    }
}
