using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>Produces the bytes of one canonical tensor in a given storage type, streaming them into a writer.</summary>
public interface ITensorProducer
{
    void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer);
}
