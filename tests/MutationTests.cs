using Embedded.Rnn.Safetensors;
using Embedded.Rnn.Tests.Generator;
using Embedded.Rnn.Tests.Models;
using Embedded.Rnn.Tests.Support;
using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// Seeded random mutations of valid inputs: the weights loader only ever throws SafetensorsException (never an
/// IndexOutOfRange, OverflowException or OutOfMemory), and the generator only ever reports diagnostics.
/// </summary>
public sealed class MutationTests
{
    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0: // flip a few bytes anywhere
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                }

                return bytes;
            case 1: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 2: // rewrite a digit in the header (shapes, offsets, the length field's neighbours)
                int headerEnd = (int)Math.Min((ulong)bytes.Length, 8 + BitConverter.ToUInt64(bytes, 0));
                var digits = Enumerable.Range(8, Math.Max(0, headerEnd - 8)).Where(i => bytes[i] is >= (byte)'0' and <= (byte)'9').ToArray();
                if (digits.Length > 0)
                {
                    bytes[digits[random.Next(digits.Length)]] = (byte)('0' + random.Next(10));
                }

                return bytes;
            case 3: // forge the header length
                BitConverter.GetBytes((ulong)random.NextInt64()).CopyTo(bytes, 0);
                return bytes;
            default: // append garbage
                return [.. bytes, .. Enumerable.Range(0, random.Next(1, 9)).Select(_ => (byte)random.Next(256))];
        }
    }

    [Fact]
    public void Mutated_weight_files_fail_only_with_safetensors_exceptions()
    {
        var original = ReferenceCase.Load("lstm_i5_h12_t6_b2_nobias").ParameterFile();
        var random = new Random(2026);
        int rejected = 0;
        for (int i = 0; i < 3000; i++)
        {
            var bytes = Mutate(original, random);
            try
            {
                LstmI5H12T6B2Nobias.FromSafetensors(bytes);
            }
            catch (SafetensorsException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 2000, $"only {rejected} of 3000 mutations were rejected");
    }

    [Fact]
    public void Mutated_specs_give_diagnostics_never_exceptions()
    {
        const string source = "using Embedded.Rnn;\nnamespace App;\n[RnnModel(\"models/net.rnn.json\")]\npublic partial class Net { }";
        const string spec = "{\"cell\": \"lstm\", \"input\": 6, \"hidden\": 32, \"layers\": 2, \"bidirectional\": false, \"bias\": true, \"head\": {\"output\": 4, \"activation\": \"softmax\"}}";
        var random = new Random(7);
        var bytes = System.Text.Encoding.UTF8.GetBytes(spec);
        for (int i = 0; i < 150; i++)
        {
            string mutated = System.Text.Encoding.UTF8.GetString(Mutate(bytes, random) is var m && m.Length > 8 ? m[8..] : m);
            var outcome = GeneratorHarness.Run(source, ("models/net.rnn.json", mutated)); // asserts the generator did not throw
            Assert.True(outcome.Result.GeneratedSources.Length == 1 || outcome.Diagnostics.Any(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error),
                $"no model and no error for: {mutated}");
        }
    }
}
