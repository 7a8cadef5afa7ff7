using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>Writes planned tensors to one safetensors file: exact header first, tensors in plan order, committed atomically.</summary>
public static class PlanWriter
{
    public static void Write(string path, IReadOnlyList<PlannedTensor> plan, Func<PlannedTensor, StorageType> typeOf,
        IReadOnlyDictionary<string, string>? metadata, ITensorProducer producer)
    {
        var headers = plan.Select(p => new TensorHeader(p.Name, typeOf(p), p.Shape)).ToList();
        using SafetensorsWriter writer = SafetensorsWriter.Create(path, headers, metadata);
        for (int i = 0; i < plan.Count; i++)
        {
            foreach (ModelTensor part in plan[i].Parts)
            {
                producer.Produce(part, headers[i].Type, writer);
            }
        }
        writer.Commit();
    }
}
