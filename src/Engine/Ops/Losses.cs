using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// Mean squared error; with <paramref name="sampleWeights"/> [N], each sample's mean over its own
    /// elements is weighted (min-SNR-γ) before the mean over the batch.
    /// </summary>
    public static Tensor MseLoss(Tensor prediction, Tensor target, Tensor? sampleWeights = null)
    {
        const string op = "MseLoss";
        OpChecks.Compatible(op, prediction, target);
        using var temps = new Intermediates();
        Tensor difference = temps.Add(prediction - target);
        Tensor squares = temps.Add(difference * difference);
        if (sampleWeights is null)
        {
            return Mean(squares);
        }
        OpChecks.MinimumRank(op, prediction, 1, "the prediction");
        int batch = prediction.Shape[0];
        if (sampleWeights.Shape != new Shape(batch))
        {
            throw new ArgumentException($"{op}: the sample weights have shape {sampleWeights.Shape}; expected [{batch}] for the prediction {prediction.Shape}");
        }
        Tensor perSample = temps.Add(Mean(temps.Add(squares.Reshape(batch, -1)), 1));
        return Mean(temps.Add(perSample * sampleWeights));
    }
}
