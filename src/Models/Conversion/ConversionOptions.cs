using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// What <see cref="CheckpointConverter"/> produces. <see cref="Layout"/> null keeps the input's;
/// <see cref="DType"/> null keeps every tensor's type (otherwise floating-point tensors are converted,
/// integer buffers kept). A diffusers output is a folder unless the path ends in .safetensors.
/// </summary>
public sealed record ConversionOptions(CheckpointLayout? Layout = null, Kernels.DType? DType = null, EmaPolicy Ema = EmaPolicy.Keep, bool Overwrite = false);
