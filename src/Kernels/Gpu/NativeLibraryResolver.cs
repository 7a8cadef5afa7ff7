using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// On Linux, .NET resolves ILGPU's "cuda" import as libcuda.so and never tries the versioned
/// libcuda.so.1, which is all a driver-only install (most containers) ships; the same holds for
/// libOpenCL.so.1. Registering this resolver before the first ILGPU call lets such machines find their GPU.
/// </summary>
internal static class NativeLibraryResolver
{
    private static int registered;

    public static void Register()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref registered, 1) == 1)
        {
            return;
        }
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // ILGPU installed its own resolver (it does so under WSL); keep it.
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string[] candidates = name switch
        {
            "cuda" or "libcuda" or "libcuda.so" => ["libcuda.so", "libcuda.so.1"],
            "OpenCL" or "libOpenCL" or "libOpenCL.so" => ["libOpenCL.so", "libOpenCL.so.1"],
            _ => [],
        };
        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out nint handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }
}
