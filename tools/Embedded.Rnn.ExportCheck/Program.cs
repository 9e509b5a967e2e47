using Embedded.Rnn;
using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Training;

// Trains two small models briefly with the C# trainer, exports their weights (PyTorch state_dict names), and
// writes a probe input with the outputs the generated kernels give for it. tools/pytorch_check.py then loads
// the weights into torch.nn.LSTM / nn.GRU with load_state_dict(strict=True) and compares PyTorch's outputs.
string directory = args.Length == 1 ? args[0] : throw new ArgumentException("usage: Embedded.Rnn.ExportCheck <output directory>");
Directory.CreateDirectory(directory);
Check(LstmCheck.FromSafetensors(Zero(LstmCheck.Parameters)), "lstm", LstmCheck.InputSize, LstmCheck.OutputSize);
Check(GruCheck.FromSafetensors(Zero(GruCheck.Parameters)), "gru", GruCheck.InputSize, GruCheck.OutputSize);
Console.WriteLine($"exported to {directory}");

void Check<TState>(IRnnModel<TState> model, string name, int inputSize, int outputSize)
    where TState : struct, IRnnState
{
    const int steps = 15;
    var random = new Random(name.Length);
    var examples = Enumerable.Range(0, 64).Select(_ =>
    {
        var inputs = Enumerable.Range(0, steps * inputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var targets = Enumerable.Range(0, steps * outputSize).Select(i => MathF.Tanh(inputs[i / outputSize * inputSize])).ToArray();
        return new TrainingExample(inputs, targets);
    }).ToList();
    using var trainer = new RnnTrainer((ITrainableRnnModel)model, new TrainingOptions { Epochs = 3, BatchSize = 16, Target = TargetKind.SequenceToSequence, LearningRate = 0.01f });
    trainer.Fit(examples);
    trainer.ExportSafetensors(Path.Combine(directory, name + ".safetensors"));

    var probe = examples[0].Inputs;
    var state = default(TState);
    var outputs = new float[steps * outputSize];
    model.Run(probe, ref state, outputs);
    new SafetensorsWriter()
        .AddMetadata("cell", name)
        .Add("input", probe, steps, 1, inputSize)
        .Add("output", outputs, steps, 1, outputSize)
        .Save(Path.Combine(directory, name + ".probe.safetensors"));
}

static byte[] Zero(IReadOnlyList<ParameterSpec> parameters)
{
    var writer = new SafetensorsWriter();
    foreach (var p in parameters)
    {
        writer.Add(p.Name, new float[p.ElementCount], p.Shape.Select(d => (long)d).ToArray());
    }

    return writer.ToArray();
}

[RnnModel("models/lstm.rnn.json")]
internal sealed partial class LstmCheck { }

[RnnModel("models/gru.rnn.json")]
internal sealed partial class GruCheck { }
