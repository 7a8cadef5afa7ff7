namespace Dsoup.Models.Training;

/// <summary>Progress of a training run after each optimisation step: the loss averaged over the steps so far in this process.</summary>
public readonly record struct TrainingProgress(int Step, int Steps, float Loss, float RunningLoss, float LearningRate, TimeSpan Elapsed, int StepsThisProcess);

/// <summary>What a finished (or stopped) run leaves: its folder, the final model, and the last step's loss.</summary>
public sealed record TrainingResult(string RunFolder, string? ModelPath, int Steps, float FinalLoss, int SkippedImages, int ResumedFrom);
