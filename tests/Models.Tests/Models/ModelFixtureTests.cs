using Dsoup.Models.Loading;
using Dsoup.Models.Modules;
using Dsoup.Models.TextEncoders;
using Dsoup.Models.Unet;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Tests.Models;

/// <summary>
/// The text encoder, UNet and VAE against transformers' and diffusers' own modules on small seeded configurations
/// (Fixtures/models), in f32 on the CPU backend and on the ILGPU kernels. Tolerance: 1e-4 of each output's scale,
/// for sums taken in another order through a dozen layers.
/// </summary>
public class ModelFixtureTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in ModelFixture.Names)
        {
            foreach (string device in new[] { "cpu", "ilgpu-cpu" })
            {
                data.Add(name, device);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void TextEncoderMatchesTransformers(string name, string deviceName)
    {
        using var fixture = new ModelFixture(name);
        Device device = Device.Get(deviceName);
        var model = new ClipTextModel(new Weights(fixture.Checkpoint, "text_encoder", device, DType.F32),
            ComponentConfigs.ReadTextEncoder(fixture.Config("text_encoder")));
        using var step = device.BeginStep();
        Tensor hidden = model.Forward(fixture.Ints("text.ids"), batch: 2);
        Assert.Equal(fixture.Shape("text.hidden"), hidden.Shape.Dims.ToArray());
        ModelFixture.AssertClose(fixture.Floats("text.hidden"), hidden.ToArray(), Tolerance, $"{name} text encoder on {deviceName}");
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void UNetMatchesDiffusers(string name, string deviceName)
    {
        using var fixture = new ModelFixture(name);
        Device device = Device.Get(deviceName);
        var unet = new UNet2DConditionModel(new Weights(fixture.Checkpoint, "unet", device, DType.F32), ComponentConfigs.ReadUNet(fixture.Config("unet")));
        using var step = device.BeginStep();
        Tensor output = unet.Forward(fixture.Tensor("unet.sample", device), fixture.Floats("unet.timesteps"), fixture.Tensor("unet.context", device));
        ModelFixture.AssertClose(fixture.Floats("unet.out"), output.ToArray(), Tolerance, $"{name} UNet on {deviceName}");
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void VaeEncodesAndDecodesAsDiffusers(string name, string deviceName)
    {
        using var fixture = new ModelFixture(name);
        Device device = Device.Get(deviceName);
        var vae = new AutoencoderKL(new Weights(fixture.Checkpoint, "vae", device, DType.F32), ComponentConfigs.ReadVae(fixture.Config("vae")));
        using var step = device.BeginStep();
        LatentDistribution distribution = vae.Encode(fixture.Tensor("vae.pixels", device));
        ModelFixture.AssertClose(fixture.Floats("vae.mean"), distribution.Mean, Tolerance, $"{name} VAE mean on {deviceName}");
        ModelFixture.AssertClose(fixture.Floats("vae.logvar"), distribution.LogVariance, Tolerance, $"{name} VAE log-variance on {deviceName}");
        Tensor decoded = vae.Decode(fixture.Tensor("vae.latent", device));
        ModelFixture.AssertClose(fixture.Floats("vae.decoded"), decoded.ToArray(), Tolerance, $"{name} VAE decode on {deviceName}");
    }
}
