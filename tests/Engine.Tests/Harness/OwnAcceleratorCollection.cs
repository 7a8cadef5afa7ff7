namespace Dsoup.Engine.Tests.Harness;

/// <summary>
/// Tests that open an ILGPU CPU accelerator of their own run in this collection: alone, after the parallel
/// tests. Two simulators at once (hundreds of OS threads meeting at barriers on two cores) slow each other
/// several-fold.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OwnAcceleratorCollection
{
    public const string Name = "own accelerator";
}
