using System.Diagnostics;
using Embedded.Rnn;
using Embedded.Rnn.Samples;
using Embedded.Rnn.Training;
using ScottPlot;

// The vanishing-gradient study on the adding problem: two marked values in a sequence of T steps must be added,
// so the first one has to be remembered over at least T/2 steps. For a vanilla RNN (tanh and relu), an LSTM and a
// GRU of the same hidden size we measure how ‖dLoss/dh_t‖ falls with the distance from the loss, and which cells
// learn the task at which lengths, with and without gradient clipping.
return SampleOptions.Run(args, "Measures vanishing gradients: gradient norm against distance, and which cells learn the adding problem at which lengths.", options =>
{
    var clock = Stopwatch.StartNew();
    int[] lengths = [10, 25, 50, 100, 200];
    int steps = options.Fast ? 200 : 1000;
    const int BatchSize = 32, FlowExamples = 16, TestExamples = 256;
    const float Clip = 1f;
    int workers = options.Workers ?? Environment.ProcessorCount;
    var cells = new Cell[]
    {
        new("RNN tanh", seed => new Net<AddingRnnTanh, AddingRnnTanh.State>(AddingRnnTanh.FromParameters(RnnTrainer.InitialParameters(AddingRnnTanh.Shape, AddingRnnTanh.Parameters, seed)))),
        new("RNN relu", seed => new Net<AddingRnnRelu, AddingRnnRelu.State>(AddingRnnRelu.FromParameters(RnnTrainer.InitialParameters(AddingRnnRelu.Shape, AddingRnnRelu.Parameters, seed)))),
        new("LSTM", seed => new Net<AddingLstm, AddingLstm.State>(AddingLstm.FromParameters(RnnTrainer.InitialParameters(AddingLstm.Shape, AddingLstm.Parameters, seed)))),
        new("GRU", seed => new Net<AddingGru, AddingGru.State>(AddingGru.FromParameters(RnnTrainer.InitialParameters(AddingGru.Shape, AddingGru.Parameters, seed)))),
    };
    Console.WriteLine($"Adding problem: values U(0,1), one marker in each half; target = sum of the two marked values.");
    Console.WriteLine($"Constant prediction 1 has MSE 1/6 = {AddingProblem.TrivialMse:F4}; knowing only one marked value, 1/12 = {AddingProblem.OneValueMse:F4}.");
    Console.WriteLine($"\"Learned\" means test MSE below {AddingProblem.LearnedMse:F4} (1/24) on {TestExamples} fresh sequences, after {steps} Adam steps of {BatchSize} fresh sequences.");
    Console.WriteLine($"Cells: hidden {AddingLstm.HiddenSize}, PyTorch's initialisation, linear head; lengths {string.Join(", ", lengths)}; clipping: none, or global norm {Clip}.");

    // 1. Gradient flow at initialisation on the longest sequences: ‖dLoss/dh_t‖ against the distance T−1−t.
    int longest = lengths[^1];
    var flowSet = AddingProblem.Generate(longest, FlowExamples, seed: 99);
    var initialFlow = cells.Select(cell =>
    {
        var net = cell.Create(1);
        using var trainer = new RnnTrainer(net.Trainable, new TrainingOptions { Loss = LossKind.MeanSquaredError, Target = TargetKind.SequenceToOne, Seed = 1, Workers = workers });
        return MeanFlow(trainer, flowSet);
    }).ToArray();

    // 2. Training runs: cell × length × clipping.
    var outcomes = new Dictionary<(string Cell, int Length, bool Clipped), Outcome>();
    var trainedFlow = new double[cells.Length][];
    int run = 0, runs = cells.Length * lengths.Length * 2;
    foreach (bool clipped in new[] { false, true })
    {
        foreach (int length in lengths)
        {
            var test = AddingProblem.Generate(length, TestExamples, seed: 7);
            for (int c = 0; c < cells.Length; c++)
            {
                run++;
                var net = cells[c].Create(1);
                var watch = Stopwatch.StartNew();
                // The flow after training is measured on the models trained (with clipping) at the longest length.
                var outcome = Train(net, length, clipped, test, clipped && length == longest ? flowSet : null);
                outcomes[(cells[c].Name, length, clipped)] = outcome;
                Console.WriteLine($"[{run,2}/{runs}] {cells[c].Name,-8} T={length,3} {(clipped ? $"clip {Clip}" : "no clip"),-8} " +
                    $"{outcome.Describe(),-28} ({watch.Elapsed.TotalSeconds:F1} s, {clock.Elapsed.TotalSeconds:F0} s so far)");
                if (clipped && length == longest)
                {
                    trainedFlow[c] = outcome.Flow ?? [];
                }
            }
        }
    }

    // 3. The table.
    Console.WriteLine();
    Console.WriteLine($"Test MSE after {steps} steps (trivial baseline {AddingProblem.TrivialMse:F3}; * = learned, below {AddingProblem.LearnedMse:F3}; 'div' = loss or gradient became infinite):");
    Console.WriteLine($"  {"cell",-9} {"clipping",-9}" + string.Concat(lengths.Select(l => $"{"T=" + l,10}")));
    foreach (bool clipped in new[] { false, true })
    {
        foreach (var cell in cells)
        {
            Console.WriteLine($"  {cell.Name,-9} {(clipped ? "norm 1" : "none"),-9}" +
                string.Concat(lengths.Select(l => $"{outcomes[(cell.Name, l, clipped)].Cell(),10}")));
        }
    }

    Console.WriteLine();
    int[] distances = [0, 10, 50, 100, 199];
    Console.WriteLine($"Mean ‖dLoss/dh_t‖ at initialisation, T={longest}, by distance from the loss:");
    Console.WriteLine($"  {"cell",-9}" + string.Concat(distances.Select(d => $"{"d=" + d,11}")));
    for (int c = 0; c < cells.Length; c++)
    {
        Console.WriteLine($"  {cells[c].Name,-9}" + string.Concat(distances.Select(d => $"{initialFlow[c][d],11:E2}")));
    }

    Console.WriteLine($"... after training at T={longest} with clipping:");
    for (int c = 0; c < cells.Length; c++)
    {
        Console.WriteLine($"  {cells[c].Name,-9}" + (trainedFlow[c].Length == 0 ? "  (diverged)" : string.Concat(distances.Select(d => $"{trainedFlow[c][d],11:E2}"))));
    }

    SaveFlowChart(cells.Select(c => c.Name).ToArray(), initialFlow, $"Gradient flow at initialisation (adding problem, T = {longest}, hidden {AddingLstm.HiddenSize}, mean of {FlowExamples} sequences)", options.Output("gradient_flow_init.png"));
    SaveFlowChart(cells.Select(c => c.Name).ToArray(), trainedFlow, $"Gradient flow after {steps} training steps at T = {longest} with clipping (mean of {FlowExamples} sequences)", options.Output("gradient_flow_trained.png"));
    Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");

    // The claims this sample makes, checked: gradients through a tanh RNN vanish (at distance 100 they are a
    // millionth or less of those at the loss); with full training every cell learns the short task, the tanh RNN
    // does not learn the longest one, and a gated cell learns a length the tanh RNN cannot.
    var failures = new List<string>();
    int tanh = 0;
    if (!(initialFlow[tanh][100] < 1e-6 * initialFlow[tanh][0]))
    {
        failures.Add($"RNN tanh's gradient at distance 100 ({initialFlow[tanh][100]:E2}) is not below a millionth of that at the loss ({initialFlow[tanh][0]:E2})");
    }

    // Training works at all: even the short run takes the GRU (clipped) at T=10 well below the trivial MSE.
    if (!(outcomes[("GRU", lengths[0], true)].TestMse < 0.75 * AddingProblem.TrivialMse))
    {
        failures.Add($"GRU with clipping at T={lengths[0]} ends at MSE {outcomes[("GRU", lengths[0], true)].TestMse:F4}, not below 3/4 of the trivial {AddingProblem.TrivialMse:F4}");
    }

    if (!options.Fast)
    {
        failures.AddRange(cells.Where(cell => !outcomes[(cell.Name, lengths[0], true)].Learned).Select(cell => $"{cell.Name} did not learn T={lengths[0]} with clipping"));
        if (outcomes[("RNN tanh", longest, true)].Learned)
        {
            failures.Add($"RNN tanh learned T={longest}: the study shows nothing");
        }

        // The lesson itself: a gated cell learns some length at which the tanh RNN fails.
        if (!lengths.Any(l => !outcomes[("RNN tanh", l, true)].Learned && (outcomes[("LSTM", l, true)].Learned || outcomes[("GRU", l, true)].Learned)))
        {
            failures.Add("no length where LSTM or GRU learns and the tanh RNN does not");
        }
    }

    foreach (var failure in failures)
    {
        Console.Error.WriteLine($"FAILED: {failure}.");
    }

    return failures.Count == 0 ? 0 : 1;

    Outcome Train(INet net, int length, bool clipped, TrainingExample[] test, TrainingExample[]? flowSet)
    {
        using var trainer = new RnnTrainer(net.Trainable, new TrainingOptions
        {
            BatchSize = BatchSize, LearningRate = 5e-3f, Optimizer = OptimizerKind.Adam, Loss = LossKind.MeanSquaredError,
            Target = TargetKind.SequenceToOne, ClipGradientNorm = clipped ? Clip : null, Seed = 1, Workers = workers,
        });
        try
        {
            for (int step = 0; step < steps; step++)
            {
                trainer.TrainStep(AddingProblem.Generate(length, BatchSize, seed: 1000 + (ulong)step), 5e-3f);
            }
        }
        catch (TrainingDivergedException)
        {
            return new Outcome(double.NaN, Diverged: true);
        }

        return new Outcome(net.TestMse(test), Diverged: false) { Flow = flowSet is null ? null : MeanFlow(trainer, flowSet) };
    }
});

// ‖dLoss/dh_t‖ of the trainer's current weights, averaged over the examples, indexed by distance from the loss.
static double[] MeanFlow(RnnTrainer trainer, TrainingExample[] examples)
{
    int steps = examples[0].Inputs.Length / AddingProblem.InputSize;
    var mean = new double[steps];
    foreach (var example in examples)
    {
        var flow = trainer.GradientFlow(example);
        for (int t = 0; t < steps; t++)
        {
            mean[steps - 1 - t] += flow[t] / (double)examples.Length;
        }
    }

    return mean;
}

static void SaveFlowChart(string[] names, double[][] flows, string title, string path)
{
    var plot = new Plot();
    var colors = new[] { Colors.OrangeRed, Colors.DarkOrange, Colors.RoyalBlue, Colors.SeaGreen };
    const double Floor = 1e-45; // float32's smallest positive value is 1.4e-45: an underflowed (zero) norm is drawn here
    for (int c = 0; c < names.Length; c++)
    {
        if (flows[c].Length == 0)
        {
            continue;
        }

        var xs = Enumerable.Range(0, flows[c].Length).Select(d => (double)d).ToArray();
        var ys = flows[c].Select(v => Math.Log10(Math.Max(v, Floor))).ToArray();
        var line = plot.Add.ScatterLine(xs, ys);
        line.LegendText = names[c];
        line.Color = colors[c % colors.Length];
        line.LineWidth = 2.5f;
    }

    plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = y => $"1e{y:0}",
    };
    plot.Title(title);
    plot.XLabel("distance from the loss, T − 1 − t (steps)");
    plot.YLabel("‖dLoss/dh_t‖ (log scale; 0 is drawn at 1e-45)");
    plot.ShowLegend(Alignment.UpperRight);
    Charts.Save(plot, path);
}

internal sealed record Cell(string Name, Func<ulong, INet> Create);

internal sealed record Outcome(double TestMse, bool Diverged)
{
    /// <summary>The gradient flow after training, when it was measured.</summary>
    public double[]? Flow { get; init; }

    public bool Learned => !Diverged && TestMse < AddingProblem.LearnedMse;

    public string Cell() => Diverged ? "div" : $"{TestMse:F4}{(Learned ? "*" : " ")}";

    public string Describe() => Diverged ? "diverged" : $"test MSE {TestMse:F4}{(Learned ? " learned" : "")}";
}

/// <summary>One model of any of the four cells, seen through what the study needs.</summary>
internal interface INet
{
    ITrainableRnnModel Trainable { get; }

    /// <summary>Mean squared error of the last step's output on <paramref name="test"/>, through the generated inference kernels.</summary>
    double TestMse(TrainingExample[] test);
}

internal sealed class Net<TModel, TState>(TModel model) : INet
    where TModel : class, IRnnModel<TState>, ITrainableRnnModel
    where TState : struct, IRnnState
{
    public ITrainableRnnModel Trainable => model;

    public double TestMse(TrainingExample[] test)
    {
        double sum = 0;
        foreach (var example in test)
        {
            int steps = example.Inputs.Length / AddingProblem.InputSize;
            var outputs = new float[steps];
            var state = default(TState);
            model.Run(example.Inputs, ref state, outputs);
            double error = outputs[^1] - example.Targets[0];
            sum += error * error;
        }

        return sum / test.Length;
    }
}

/// <summary>Vanilla RNN, tanh.</summary>
[RnnModel("models/adding_rnn_tanh.rnn.json")]
public partial class AddingRnnTanh { }

/// <summary>Vanilla RNN, relu.</summary>
[RnnModel("models/adding_rnn_relu.rnn.json")]
public partial class AddingRnnRelu { }

/// <summary>LSTM.</summary>
[RnnModel("models/adding_lstm.rnn.json")]
public partial class AddingLstm { }

/// <summary>GRU.</summary>
[RnnModel("models/adding_gru.rnn.json")]
public partial class AddingGru { }
