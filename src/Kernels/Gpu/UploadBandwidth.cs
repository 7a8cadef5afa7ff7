using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// The host-to-device copy rate from page-locked memory: the ceiling for any merge that must move every
/// input byte to the device (a device-side TIES soup is judged as a fraction of it).
/// </summary>
public static class UploadBandwidth
{
    /// <summary>Median bytes per second of <paramref name="repeats"/> copies of <paramref name="bytes"/> bytes, after a warm-up.</summary>
    public static double Measure(IlgpuBackend backend, int bytes, int repeats)
    {
        var times = new List<double>();
        backend.Run(() =>
        {
            Accelerator accelerator = backend.Accelerator;
            using var pinned = accelerator.AllocatePageLocked1D<byte>(bytes, true);
            using var device = accelerator.Allocate1D<byte>(bytes);
            using var stream = accelerator.CreateStream();
            for (int i = 0; i <= repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                device.View.AsContiguous().CopyFromCPUUnsafeAsync(stream, ref pinned.Span[0], bytes);
                stream.Synchronize();
                if (i > 0)
                {
                    times.Add(clock.Elapsed.TotalSeconds);
                }
            }
        });
        times.Sort();
        return bytes / times[times.Count / 2];
    }
}
