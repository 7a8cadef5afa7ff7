using Dsoup.Engine.Devices;

namespace Dsoup.Cli;

/// <summary>The device-memory part of a run's summary line.</summary>
internal static class DeviceMemory
{
    /// <summary>"; peak device memory X" where the device has memory of its own, else nothing.</summary>
    public static string Peak(Device device) =>
        device.Backend.PeakDeviceBytes > 0 ? $"; peak device memory {Units.Bytes(device.Backend.PeakDeviceBytes)} on {device.Name}" : "";
}
