using Dsoup.Engine.Devices;
using Dsoup.Models.Lora;
using Dsoup.Models.Soup;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests.Soup;

/// <summary>
/// TIES on a device (ILGPU's CPU accelerator runs the same kernels a GPU runs) against the CPU merger:
/// the bytes must be identical, equal-magnitude ties at the top-k threshold included.
/// </summary>
public class GpuTiesTests : IClassFixture<SoupFixture>
{
    /// <summary>A few tensors of every kind (the ILGPU CPU simulator is slow): attention, convolution, norms, the text encoder.</summary>
    private static readonly TensorFilter Subset = new(["unet.down_blocks.0.attentions.0.*", "unet.conv_in.*", "text_encoder.text_model.encoder.layers.0.*", "vae.decoder.conv_in.*"], []);

    private readonly SoupFixture fixture;

    public GpuTiesTests(SoupFixture fixture) => this.fixture = fixture;

    [Theory]
    [InlineData("f16", 0.3)]
    [InlineData("bf16", 0.2)]
    [InlineData("f32", 0.5)]
    [InlineData("f16", 0.01)]
    [InlineData("f16", 1.0)]
    public void TiesOnADeviceWritesTheBytesOfTheCpuMerger(string dtype, double density)
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3, StorageType.F32)];
        var options = new SoupOptions
        {
            Method = SoupMethod.Ties,
            Weights = [0.5, 1.25, 0.75],
            Lambda = 0.8,
            Density = density,
            DType = Kernels.DTypeInfo.Parse(dtype),
            Filter = Subset,
        };
        string onCpu = fixture.File($"ties-cpu-{dtype}-{density}.safetensors"), onDevice = fixture.File($"ties-device-{dtype}-{density}.safetensors");
        SoupResult cpu = SoupFixture.Soup(inputs, onCpu, options, fixture.Variant(0));
        SoupResult device = SoupFixture.Soup(inputs, onDevice, options, fixture.Variant(0), device: Device.Get("ilgpu-cpu"));
        Assert.Equal(File.ReadAllBytes(onCpu), File.ReadAllBytes(onDevice)); // values, header and recipe (ingredient hashes included)
        Assert.Equal(cpu.InputHashes, device.InputHashes);
        Assert.Equal(0, cpu.TensorsOnDevice);
        Assert.True(device.TensorsOnDevice > 20, $"only {device.TensorsOnDevice} tensors were merged on the device");
    }

    [Fact]
    public void Bf16AndF32SourcesOnADeviceGiveTheCpuBytes()
    {
        string[] inputs = [fixture.Variant(1, StorageType.BF16), fixture.Variant(2), fixture.Variant(3, StorageType.F32)];
        var options = new SoupOptions { Method = SoupMethod.Ties, Density = 0.25, DType = Kernels.DType.BF16, Filter = Subset };
        string onCpu = fixture.File("ties-mixed-cpu.safetensors"), onDevice = fixture.File("ties-mixed-device.safetensors");
        SoupFixture.Soup(inputs, onCpu, options, fixture.Variant(0, StorageType.F32));
        SoupResult device = SoupFixture.Soup(inputs, onDevice, options, fixture.Variant(0, StorageType.F32), device: Device.Get("ilgpu-cpu"));
        Assert.Equal(File.ReadAllBytes(onCpu), File.ReadAllBytes(onDevice));
        Assert.True(device.TensorsOnDevice > 20);
    }

    [Fact]
    public void TensorsALoraPatchesAreMergedOnTheCpuAndTheSoupKeepsItsBytes()
    {
        // A LoRA for the tested subset only (one for the whole model would target tensors the filter leaves out).
        string loraPath = fixture.File("ties-lora.safetensors"), subsetModel = fixture.File("ties-lora-subset.safetensors");
        SoupFixture.Soup([fixture.Variant(0)], subsetModel, new SoupOptions { Filter = Subset });
        using (var model = ModelCheckpoint.Open(subsetModel))
        {
            SyntheticLora.Write(loraPath, model, 2, LoraConvention.Kohya, 9, StorageType.F32, 2);
        }
        var options = new SoupOptions { Method = SoupMethod.Ties, Filter = Subset };
        string onCpu = fixture.File("ties-lora-cpu.safetensors"), onDevice = fixture.File("ties-lora-device.safetensors");
        SoupResult cpu = SoupWithLora(options, loraPath, onCpu, null);
        SoupResult device = SoupWithLora(options, loraPath, onDevice, Device.Get("ilgpu-cpu"));
        Assert.Equal(File.ReadAllBytes(onCpu), File.ReadAllBytes(onDevice));
        int merged = SoupFixture.Values(onDevice).Count;
        Assert.InRange(device.TensorsOnDevice, 1, merged - 1); // some patched (on the CPU), the rest on the device
        Assert.Equal(0, cpu.TensorsOnDevice);
    }

    private SoupResult SoupWithLora(SoupOptions options, string loraPath, string output, Device? device)
    {
        var inputs = new[] { fixture.Variant(1), fixture.Variant(2) }.Select(p => SoupIngredient.Open(p)).ToList();
        using var baseModel = SoupIngredient.Open(fixture.Variant(0));
        using var lora = LoraFile.Open(loraPath);
        try
        {
            SoupPlan plan = SoupPlanner.Plan(inputs, baseModel, null, options, [new SoupLora(lora, 0.5)]);
            return SoupEngine.Run(plan, new SoupRunOptions(output) { Overwrite = true, Device = device, DeviceMinimumElements = 0 });
        }
        finally
        {
            inputs.ForEach(i => i.Dispose());
        }
    }

    [Fact]
    public void TheTestDataSplitsEqualMagnitudesAtTheThreshold()
    {
        // The position rule only matters where the k-th largest |τ| has equals on both sides of the cut;
        // f16 fine-tunes have many equal differences, so the device test above meets the rule.
        var x = SoupFixture.Values(fixture.Variant(1));
        var theta = SoupFixture.Values(fixture.Variant(0));
        int split = 0;
        foreach (var (name, (values, _)) in x.Where(t => Subset.Keeps(t.Key)))
        {
            double[] keys = values.Select((v, e) => Math.Abs(v - theta[name].Values[e])).OrderByDescending(k => k).ToArray();
            long k = (long)Math.Floor(0.3 * keys.Length);
            if (k > 0 && k < keys.Length && keys[k - 1] == keys[k])
            {
                split++;
            }
        }
        Assert.True(split >= 3, $"only {split} tensors split equal magnitudes at density 0.3");
    }

    [Fact]
    public void SelectingFromHistogramsFindsWhatTheStreamingSelectionFinds()
    {
        var random = new System.Random(3);
        foreach (int distinct in new[] { 3, 1000, 1 << 30 })
        {
            ulong[] keys = Enumerable.Range(0, 50_000).Select(_ => (ulong)random.NextInt64(distinct) * 0x0001_0001_0001UL).ToArray();
            foreach (long k in new long[] { 0, 1, 777, 25_000, 49_999, 50_000 })
            {
                TopK streamed = TopKSelection.Find(keys.Length, k, visit => visit(keys));
                TopK fromHistograms = TopKSelection.FromHistograms(keys.Length, k, (prefix, fixedBits, shift, bins) =>
                {
                    foreach (ulong key in keys.Where(key => fixedBits == 0 || key >> (64 - fixedBits) == prefix >> (64 - fixedBits)))
                    {
                        bins[(key >> shift) & 0xFFFF]++;
                    }
                });
                Assert.Equal(streamed, fromHistograms);
            }
        }
    }

    [Fact]
    public void ANonFiniteValueOnTheDeviceIsRefusedAndNothingIsWritten()
    {
        string poisoned = fixture.File("ties-nan.safetensors");
        File.Copy(fixture.Variant(2), poisoned, overwrite: true);
        long at;
        using (var checkpoint = ModelCheckpoint.Open(poisoned))
        {
            ModelTensor target = checkpoint.Tensors.First(t => Subset.Keeps(t.Name) && t.Type == StorageType.F16 && t.ElementCount > 4);
            at = target.Pieces[0].Source.Offset + target.Pieces[0].Offset + 2;
        }
        using (var stream = new FileStream(poisoned, FileMode.Open, FileAccess.Write))
        {
            stream.Position = at;
            stream.Write([0x00, 0x7E]); // f16 NaN
        }
        string output = fixture.File("ties-nan-out.safetensors");
        var options = new SoupOptions { Method = SoupMethod.Ties, Filter = Subset };
        var error = Assert.Throws<InvalidDataException>(() =>
            SoupFixture.Soup([fixture.Variant(1), poisoned], output, options, fixture.Variant(0), device: Device.Get("ilgpu-cpu")));
        Assert.Contains("ties-nan", error.Message);
        Assert.Contains("NaN or infinite", error.Message);
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + ".partial"));
    }
}
