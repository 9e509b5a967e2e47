using System.Diagnostics;
using Embedded.Rnn.Fuzz;
using Embedded.Rnn.Safetensors;

// Usage:
//   Embedded.Rnn.Fuzz fuzz <spec|safetensors>              under afl-fuzz (SharpFuzz), see fuzz/run.sh
//   Embedded.Rnn.Fuzz replay <spec|safetensors> <paths...>  runs files (or folders of files) through a target
//   Embedded.Rnn.Fuzz replay spec --compile-all <paths...>   the same, compiling every model generated (not a sample)
//   Embedded.Rnn.Fuzz seed <folder>                          writes the safetensors seed for FuzzNet
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: fuzz <spec|safetensors> | replay <spec|safetensors> <paths...> | seed <folder>");
    return 2;
}

if (args[0] == "seed")
{
    var writer = new SafetensorsWriter();
    int value = 0;
    foreach (var p in FuzzNet.Parameters)
    {
        // Distinct small values, so a mutation that swaps or shifts tensors changes what loads.
        writer.Add(p.Name, Enumerable.Range(0, p.ElementCount).Select(_ => (value++ % 17 - 8) / 16f).ToArray(), p.Shape.Select(d => (long)d).ToArray());
    }

    Directory.CreateDirectory(args[1]);
    writer.Save(Path.Combine(args[1], "fuzz_net.safetensors"));
    return 0;
}

bool compileAll = args.Contains("--compile-all");
Func<byte[], bool> target = args[1] switch
{
    "spec" => bytes => FuzzTargets.Spec(bytes, compileAll),
    "safetensors" => bytes => FuzzTargets.Safetensors(bytes),
    _ => throw new ArgumentException($"unknown target '{args[1]}'; use spec or safetensors"),
};

if (args[0] == "fuzz")
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target(buffer.ToArray());
    });
    return 0;
}

// replay: report every input that breaks an invariant, with its exception.
int passed = 0, failed = 0;
var files = args.Skip(2).Where(a => a != "--compile-all").SelectMany<string, string>(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : new[] { p });
foreach (string file in files)
{
    var watch = Stopwatch.StartNew();
    try
    {
        bool accepted = target(File.ReadAllBytes(file));
        Console.WriteLine($"ok   {file} ({(accepted ? "accepted" : "rejected")}, {watch.ElapsedMilliseconds} ms)");
        passed++;
    }
    catch (Exception e)
    {
        Console.WriteLine($"FAIL {file}: {e}");
        failed++;
    }
}

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
