using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;

namespace Embedded.Rnn.Bench;

// dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*'     every suite, then the ratio table
// dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --verify         only the agreement check (seconds)
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--verify"))
        {
            return Verify();
        }

        // Few, short iterations: the machine is shared and the grid is 99 benchmarks; ratios come from one run.
        var job = Job.Default
            .WithId("Bench")
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(12)
            .WithIterationTime(TimeInterval.FromMilliseconds(120));
        var config = DefaultConfig.Instance
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.JoinSummary);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        ResultsTable.Write(summaries);
        return 0;
    }

    private static int Verify()
    {
        int failures = 0;
        foreach (var type in typeof(CellSuite).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(CellSuite)) && !t.IsAbstract).OrderBy(t => t.Name))
        {
            var suite = (CellSuite)Activator.CreateInstance(type)!;
            try
            {
                suite.Setup();
            }
            catch (InvalidOperationException e)
            {
                Console.WriteLine("FAIL " + e.Message);
                failures++;
            }
            finally
            {
                suite.Cleanup();
            }
        }

        Console.WriteLine(failures == 0 ? "All competitors agree within 1e-4 on every cell and size." : $"{failures} suites disagree.");
        return failures == 0 ? 0 : 1;
    }
}
