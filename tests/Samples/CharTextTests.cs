using Embedded.Rnn.Samples;
using Xunit;

namespace Embedded.Rnn.Tests.Samples;

/// <summary>The language-model sample's vocabulary, training chunks, bits per character and sampling, against hand derivations.</summary>
public sealed class CharTextTests
{
    [Fact]
    public void Vocabulary_numbers_characters_in_ordinal_order_and_round_trips()
    {
        var vocabulary = CharVocabulary.Of("banana, Bob");
        Assert.Equal(7, vocabulary.Size); // ' ', ',', 'B', 'a', 'b', 'n', 'o'
        Assert.Equal(" ,Babno", new string(Enumerable.Range(0, vocabulary.Size).Select(vocabulary.Symbol).ToArray()));
        Assert.Equal([4, 3, 5, 3], vocabulary.Encode("bana"));
        Assert.Equal("Bob, an", vocabulary.Decode(vocabulary.Encode("Bob, an")));
        var error = Assert.Throws<ArgumentException>(() => vocabulary.Encode("ban!"));
        Assert.Contains("position 3", error.Message);
        Assert.Throws<ArgumentException>(() => CharVocabulary.Of("aaaa"));
    }

    [Fact]
    public void Chunks_read_one_hot_characters_and_target_the_next_ones()
    {
        var vocabulary = CharVocabulary.Of("abc");
        var chunks = vocabulary.NextCharacterChunks([0, 1, 2, 0, 1, 2], length: 2);
        Assert.Equal(2, chunks.Length); // (6 − 1) / 2 whole chunks; the tail [2] is left out
        Assert.Equal([1f, 0, 0, /**/ 0, 1, 0], chunks[0].Inputs);   // a, b
        Assert.Equal([0f, 1, 0, /**/ 0, 0, 1], chunks[0].Targets);  // b, c
        Assert.Equal([0f, 0, 1, /**/ 1, 0, 0], chunks[1].Inputs);   // c, a
        Assert.Equal([1f, 0, 0, /**/ 0, 1, 0], chunks[1].Targets);  // a, b
    }

    [Fact]
    public void Bits_per_character_is_nats_over_ln2()
    {
        Assert.Equal(1.0, BitsPerCharacter.FromNats(Math.Log(2)), 12);
        // A model that gives every one of 74 characters the same probability: −ln(1/74) nats = log2 74 bits.
        Assert.Equal(Math.Log2(74), BitsPerCharacter.FromNats(-Math.Log(1.0 / 74)), 12);
    }

    [Fact]
    public void Unigram_baseline_is_add_one_smoothed_frequency()
    {
        // Training 0,0,1 over 3 symbols: p(0) = 3/6, p(1) = 2/6, p(2) = 1/6. Evaluated 2,0,1,2 predicts 0, 1, 2.
        double expected = (1 + Math.Log2(3) + Math.Log2(6)) / 3;
        Assert.Equal(expected, BitsPerCharacter.Unigram([0, 0, 1], [2, 0, 1, 2], 3), 12);
        // Without training text every symbol is equally likely: log2 V bits.
        Assert.Equal(2.0, BitsPerCharacter.Unigram([], [0, 1, 2, 3, 3], 4), 12);
    }

    [Fact]
    public void Bigram_baseline_conditions_on_the_previous_character()
    {
        // Training 0,1,0,1: pairs 01 ×2, 10 ×1; p(1|0) = (2+1)/(2+2), p(1|1) = (0+1)/(1+2). Evaluated 0,1,1.
        double expected = (-Math.Log2(3.0 / 4) - Math.Log2(1.0 / 3)) / 2;
        Assert.Equal(expected, BitsPerCharacter.Bigram([0, 1, 0, 1], [0, 1, 1], 2), 12);
    }

    [Fact]
    public void Sampling_inverts_the_cumulative_distribution_with_temperature()
    {
        float[] p = [0.2f, 0.5f, 0.3f];
        Assert.Equal(0, BitsPerCharacter.Sample(p, 1, 0.1));
        Assert.Equal(1, BitsPerCharacter.Sample(p, 1, 0.25));
        Assert.Equal(1, BitsPerCharacter.Sample(p, 1, 0.69));
        Assert.Equal(2, BitsPerCharacter.Sample(p, 1, 0.71));
        // τ = 0.5 squares the weights: 0.04, 0.25, 0.09 (total 0.38); u = 0.1 → 0.038 < 0.04, u = 0.11 → 0.0418 > 0.04.
        Assert.Equal(0, BitsPerCharacter.Sample(p, 0.5, 0.1));
        Assert.Equal(1, BitsPerCharacter.Sample(p, 0.5, 0.11));
        Assert.Equal(2, BitsPerCharacter.Sample(p, 0.5, 0.9)); // (0.04 + 0.25) / 0.38 = 0.763
        Assert.Throws<ArgumentException>(() => BitsPerCharacter.Sample(p, 0, 0.5));
        Assert.Throws<ArgumentException>(() => BitsPerCharacter.Sample(p, 1, 1.0));
    }
}
