using Dsoup.Engine.Tensors;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Evaluation;

/// <summary>Puts a candidate soup's UNet weights into a loaded model, so it can be scored without writing a file.</summary>
public static class UnetWeights
{
    public static void Assign(StableDiffusionModel model, SoupWeights weights)
    {
        foreach ((string name, Tensor parameter) in model.UnetParameters)
        {
            if (!weights.Tensors.TryGetValue(name, out Tensor? value))
            {
                throw new InvalidDataException($"the candidate soup has no '{name}', which {model.Source}'s UNet uses");
            }
            if (!value.Shape.Equals(parameter.Shape))
            {
                throw new InvalidDataException($"'{name}' is {value.Shape} in the candidate soup but {parameter.Shape} in {model.Source}");
            }
            if (value.Device != parameter.Device)
            {
                throw new ArgumentException($"the candidate soup is on {value.Device.Name} but the model on {parameter.Device.Name}; build the soup on the model's device");
            }
            if (value.DType == parameter.DType)
            {
                parameter.Device.Backend.Copy(value.View, parameter.View, parameter.ByteCount);
                continue;
            }
            using Tensor converted = Engine.Ops.Convert(value, parameter.DType);
            parameter.Device.Backend.Copy(converted.View, parameter.View, parameter.ByteCount);
        }
    }
}
