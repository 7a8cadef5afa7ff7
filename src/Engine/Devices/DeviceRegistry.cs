using Dsoup.Kernels.Cpu;
using Dsoup.Kernels.Gpu;

namespace Dsoup.Engine.Devices;

/// <summary>Parses device names, opens each device once, and picks the default.</summary>
public static class DeviceRegistry
{
    public const string EnvironmentVariable = "DSOUP_DEVICE";

    public const string Expected = "cpu, cuda, cuda:N, opencl, opencl:N, ilgpu-cpu";

    private static readonly Dictionary<string, Device> Opened = [];
    private static readonly Lock Gate = new();
    private static Device? defaultDevice;

    static DeviceRegistry() => AppDomain.CurrentDomain.ProcessExit += (_, _) => CloseAll();

    public static Device Default
    {
        get
        {
            lock (Gate)
            {
                return defaultDevice ??= ChooseDefault();
            }
        }
    }

    public static Device Get(string name)
    {
        string canonical = Canonical(name);
        lock (Gate)
        {
            if (!Opened.TryGetValue(canonical, out Device? device))
            {
                device = Open(canonical);
                Opened[canonical] = device;
            }
            return device;
        }
    }

    /// <summary>Every device this machine can open, by name, with a description; nothing is opened for the listing.</summary>
    public static IReadOnlyList<string> Available()
    {
        var names = new List<string> { "cpu" };
        for (int i = 0; i < IlgpuRuntime.CudaDeviceCount; i++)
        {
            names.Add($"cuda:{i}");
        }
        for (int i = 0; i < IlgpuRuntime.OpenCLDeviceCount; i++)
        {
            names.Add($"opencl:{i}");
        }
        names.Add("ilgpu-cpu");
        return names;
    }

    /// <summary>Normalises a device name (cuda → cuda:0), or throws naming the accepted forms.</summary>
    public static string Canonical(string name)
    {
        string text = (name ?? "").Trim().ToLowerInvariant();
        if (text is "cpu" or "ilgpu-cpu")
        {
            return text;
        }
        foreach (string family in new[] { "cuda", "opencl" })
        {
            if (text == family)
            {
                return family + ":0";
            }
            if (text.StartsWith(family + ":", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(family.Length + 1), out int index) && index >= 0)
            {
                return $"{family}:{index}";
            }
        }
        throw new ArgumentException($"unknown device '{name}': expected one of {Expected}");
    }

    private static Device ChooseDefault()
    {
        string? requested = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(requested))
        {
            try
            {
                return Get(requested);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"{EnvironmentVariable}: {ex.Message}", ex);
            }
        }
        return IlgpuRuntime.CudaDeviceCount > 0 ? Get("cuda:0") : Get("cpu");
    }

    private static Device Open(string canonical)
    {
        if (canonical == "cpu")
        {
            return new Device("cpu", DeviceKind.Cpu, new CpuBackend());
        }
        if (canonical == "ilgpu-cpu")
        {
            return new Device(canonical, DeviceKind.IlgpuCpu, new IlgpuBackend(IlgpuRuntime.CreateCpuSimulator(), canonical));
        }
        int index = int.Parse(canonical.AsSpan(canonical.IndexOf(':') + 1));
        return canonical.StartsWith("cuda", StringComparison.Ordinal)
            ? new Device(canonical, DeviceKind.Cuda, new IlgpuBackend(IlgpuRuntime.CreateCuda(index), canonical))
            : new Device(canonical, DeviceKind.OpenCL, new IlgpuBackend(IlgpuRuntime.CreateOpenCL(index), canonical));
    }

    private static void CloseAll()
    {
        lock (Gate)
        {
            foreach (Device device in Opened.Values)
            {
                device.Backend.Dispose();
            }
            Opened.Clear();
        }
    }
}
