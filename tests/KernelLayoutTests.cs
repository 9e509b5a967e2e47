using Xunit;

namespace Embedded.Rnn.Tests;

/// <summary>
/// The layout facts the generator and the runtime share (runtime/Layout/KernelLayout.cs): tiles cover a block exactly,
/// packing places every PyTorch parameter exactly once (padding stays zero), gradient accumulation is packing's
/// transpose, and the state_dict names are PyTorch's.
/// </summary>
public sealed class KernelLayoutTests
{
    // (input, hidden, slots as input block/recurrent block): LSTM, GRU (n split in two), RNN, and the head's single slot.
    public static TheoryData<int, int, int[], int[], int> Blocks()
    {
        var data = new TheoryData<int, int, int[], int[], int>();
        foreach (int lanes in new[] { 1, 4, 8, 16 })
        {
            data.Add(3, 20, [0, 1, 2, 3], [0, 1, 2, 3], lanes);
            data.Add(5, 12, [0, 1, 2, -1], [0, 1, -1, 2], lanes);
            data.Add(33, 70, [0], [0], lanes);
            data.Add(40, 0, [0], [-1], lanes);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Tiles_cover_their_block_once_and_in_order(int input, int recurrent, int[] inputBlocks, int[] recurrentBlocks, int lanes)
    {
        int units = recurrent > 0 ? recurrent : 7;
        var packing = new RecurrentPacking(input, recurrent, units, lanes, inputBlocks, recurrentBlocks);
        var block = packing.Layout;
        var covered = new int[block.Length];
        int start = 0;
        for (int firstChunk = 0, tile = 0; firstChunk < block.Chunks; firstChunk += block.ChunksPerTile, tile++)
        {
            var layout = block.Tile(Math.Min(block.ChunksPerTile, block.Chunks - firstChunk));
            Assert.Equal(start, block.TileStart(tile));
            void Cover(int offset)
            {
                for (int lane = 0; lane < lanes; lane++)
                {
                    covered[start + offset + lane]++;
                }
            }

            for (int chunk = 0; chunk < layout.Chunks; chunk++)
            {
                for (int slot = 0; slot < inputBlocks.Length; slot++)
                {
                    Cover(layout.Bias(chunk, slot));
                }

                for (int column = 0; column < input; column++)
                {
                    for (int s = 0; s < block.InputSlots; s++)
                    {
                        Cover(layout.InputWeight(column, chunk, s));
                    }
                }

                for (int column = 0; column < recurrent; column++)
                {
                    for (int s = 0; s < block.RecurrentSlots; s++)
                    {
                        Cover(layout.RecurrentWeight(column, chunk, s));
                    }
                }
            }

            start += layout.Length;
        }

        Assert.Equal(block.Length, start);
        Assert.All(covered, count => Assert.Equal(1, count));
        Assert.Equal(block.Chunks, (units + lanes - 1) / lanes);
        Assert.InRange(block.ChunksPerTile * inputBlocks.Length, 1, Math.Max(KernelLayout.TargetAccumulators, inputBlocks.Length));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(16)]
    public void A_second_pass_is_a_block_of_its_own_after_the_first(int lanes)
    {
        // The reset-before GRU's slots: r, z and W_in x in pass 0; W_hn (r ⊙ h) in pass 1, which reads no input.
        const int input = 3, units = 5, gates = 3;
        var packing = new RecurrentPacking(input, units, units, lanes, [0, 1, 2, -1], [0, 1, -1, 2], [0, 0, 0, 1]);
        Assert.Equal(2, packing.Passes.Count);
        Assert.Equal(0, packing.Passes[1].InputSize);
        Assert.Equal(KernelLayout.PassStart(packing.Passes, 2), packing.Length);
        float[] Distinct(int length, int offset) => Enumerable.Range(0, length).Select(i => (float)(offset + i)).ToArray();
        var weightIh = Distinct(gates * units * input, 1);
        var weightHh = Distinct(gates * units * units, 1_000);
        var biasIh = Distinct(gates * units, 100_000);
        var biasHh = Distinct(gates * units, 200_000);
        var packed = packing.Pack(weightIh, weightHh, biasIh, biasHh);
        var second = packed.AsSpan(KernelLayout.PassStart(packing.Passes, 1)).ToArray();

        // Every weight is placed once; W_hh's n block (rows 2·units..) and b_hn only in the second pass.
        Assert.All(weightIh.Concat(weightHh), v => Assert.Equal(1, packed.Count(p => p == v)));
        Assert.All(weightHh.Skip(2 * units * units), v => Assert.Contains(v, second));
        Assert.All(biasHh.Skip(2 * units), v => Assert.Contains(v, second));
        Assert.All(weightIh.Concat(weightHh.Take(2 * units * units)), v => Assert.DoesNotContain(v, second));
        // b_in stays alone in the first pass's n slot (not summed with b_hn, which r scales there only after the product).
        Assert.All(biasIh.Skip(2 * units), v => Assert.Equal(1, packed.Count(p => p == v)));

        Assert.Throws<ArgumentException>(() => new RecurrentPacking(input, units, units, lanes, [0, 1, 2, -1], [0, 1, -1, 2], [0, 0, 0, -1]));
        Assert.Throws<ArgumentException>(() => new RecurrentPacking(input, units, units, lanes, [0, 1, 2, 2], [0, 1, -1, 2], [0, 0, 0, 1]));
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Packing_places_every_parameter_once_and_leaves_padding_zero(int input, int recurrent, int[] inputBlocks, int[] recurrentBlocks, int lanes)
    {
        int units = recurrent > 0 ? recurrent : 7;
        int gates = Math.Max(inputBlocks.Max(), recurrentBlocks.Max()) + 1;
        var packing = new RecurrentPacking(input, recurrent, units, lanes, inputBlocks, recurrentBlocks);
        float[] Distinct(int length, int offset) => Enumerable.Range(0, length).Select(i => (float)(offset + i)).ToArray();
        var weightIh = Distinct(gates * units * input, 1);
        var weightHh = Distinct(gates * units * recurrent, 1_000_000);
        var none = new float[gates * units];
        int Count(float[] packed, float value) => packed.Count(v => v == value);

        var weights = packing.Pack(weightIh, weightHh, [], []);
        Assert.All(weightIh.Where((_, i) => inputBlocks.Contains(i / (units * input))), v => Assert.Equal(1, Count(weights, v)));
        Assert.All(weightHh.Where((_, i) => recurrentBlocks.Contains(i / (units * Math.Max(1, recurrent)))), v => Assert.Equal(1, Count(weights, v)));
        // Without bias the bias vectors are zero, as is every padding lane: everything else is a weight.
        int slotsReadingInput = inputBlocks.Count(b => b >= 0), slotsReadingState = recurrentBlocks.Count(b => b >= 0);
        Assert.Equal(units * (input * slotsReadingInput + recurrent * slotsReadingState), weights.Count(v => v != 0));

        var biases = packing.Pack(new float[weightIh.Length], new float[weightHh.Length], Distinct(gates * units, 1), none);
        Assert.All(Enumerable.Range(0, gates * units).Where(i => inputBlocks.Contains(i / units)), i => Assert.Equal(1, Count(biases, i + 1)));
        var hiddenBiases = packing.Pack(new float[weightIh.Length], new float[weightHh.Length], none, Distinct(gates * units, 1));
        Assert.All(Enumerable.Range(0, gates * units).Where(i => recurrentBlocks.Contains(i / units)), i => Assert.Equal(1, Count(hiddenBiases, i + 1)));
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Accumulating_a_packed_gradient_is_the_transpose_of_packing(int input, int recurrent, int[] inputBlocks, int[] recurrentBlocks, int lanes)
    {
        // <G, Pack(T)> = <Accumulate(G), T> for every packed G and tensors T: the trainer's gradients are exactly packing's.
        int units = recurrent > 0 ? recurrent : 7;
        int gates = Math.Max(inputBlocks.Max(), recurrentBlocks.Max()) + 1;
        var packing = new RecurrentPacking(input, recurrent, units, lanes, inputBlocks, recurrentBlocks);
        var random = new Random(input * 100 + lanes);
        float[] Draw(int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        float[][] tensors = [Draw(gates * units * input), Draw(gates * units * recurrent), Draw(gates * units), Draw(gates * units)];
        var gradient = Draw(packing.Length);
        var packed = packing.Pack(tensors[0], tensors[1], tensors[2], tensors[3]);
        float[][] accumulated = [.. tensors.Select(t => new float[t.Length])];
        packing.AccumulateGradient(gradient, accumulated[0], accumulated[1], accumulated[2], accumulated[3]);
        double left = gradient.Zip(packed, (g, p) => (double)g * p).Sum();
        double right = tensors.Zip(accumulated, (t, a) => t.Zip(a, (x, y) => (double)x * y).Sum()).Sum();
        // Equal up to float rounding: a packed bias is the float sum b_ih + b_hh, and gradients accumulate in float.
        double scale = gradient.Zip(packed, (g, p) => Math.Abs((double)g * p)).Sum();
        Assert.True(Math.Abs(left - right) <= 1e-6 * scale, $"{left} vs {right}");
    }

    [Fact]
    public void Parameters_are_named_and_shaped_as_pytorch_names_them()
    {
        var layout = new ParameterLayout(inputSize: 3, hiddenSize: 5, gates: 4, layers: 2, directions: 2, bias: true, headOutput: 6);
        var names = Enumerable.Range(0, layout.Count).Select(layout.Name).ToList();
        Assert.Equal(
            [
                "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
                "head.weight", "head.bias",
            ],
            names);
        Assert.Equal([20, 3], layout.Shape(0));
        Assert.Equal([20, 10], layout.Shape(names.IndexOf("weight_ih_l1")));
        Assert.Equal([20, 5], layout.Shape(names.IndexOf("weight_hh_l1_reverse")));
        Assert.Equal([6, 10], layout.Shape(names.IndexOf("head.weight")));
        Assert.Equal(5, layout.BlockCount);
        Assert.Equal([16, -1, 17, -1], layout.BlockTensors(4));

        var noBias = new ParameterLayout(3, 5, 3, 1, 1, bias: false, headOutput: 0);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], Enumerable.Range(0, noBias.Count).Select(noBias.Name));
        Assert.Equal([0, 1, -1, -1], noBias.BlockTensors(0));
    }

    [Fact]
    public void State_and_tiles_are_sized_for_the_widest_path()
    {
        Assert.Equal([1, 4, 8, 16], new[] { KernelPath.Scalar, KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512 }.Select(KernelLayout.Lanes));
        Assert.Equal(KernelLayout.StatePadding, KernelLayout.Lanes(KernelLayout.WidestFirst[0]));
        Assert.Equal([16, 16, 32, 128], new[] { 1, 16, 17, 128 }.Select(KernelLayout.Padded));
        Assert.Equal(2, KernelLayout.ChunksPerTile(slots: 4, units: 64, lanes: 8)); // 8 accumulators
        Assert.Equal(1, KernelLayout.ChunksPerTile(slots: 4, units: 8, lanes: 16)); // one vector holds every unit
        Assert.Equal(1, KernelLayout.ChunksPerTile(slots: 9, units: 64, lanes: 8)); // at least one chunk
    }
}
