using Embedded.Rnn.Tests.Support;

namespace Embedded.Rnn.Tests.Models;

// Twins of reference-case and derived models with bfloat16 and int8 weights (spec "precision"; QuantisedWeightsTests).

[RnnModel("Models/lstm_i1_h8_t5_b1_bf16.rnn.json")]
public partial class LstmI1H8T5B1Bf16 { }

[RnnModel("Models/lstm_i1_h8_t5_b1_int8.rnn.json")]
public partial class LstmI1H8T5B1Int8 { }

[RnnModel("Models/lstm_i8_h32_t20_b2_bf16.rnn.json")]
public partial class LstmI8H32T20B2Bf16 { }

[RnnModel("Models/lstm_i8_h32_t20_b2_int8.rnn.json")]
public partial class LstmI8H32T20B2Int8 { }

[RnnModel("Models/lstm_i8_h16_t10_b2_l2_bf16.rnn.json")]
public partial class LstmI8H16T10B2L2Bf16 { }

[RnnModel("Models/lstm_i8_h16_t10_b2_l2_int8.rnn.json")]
public partial class LstmI8H16T10B2L2Int8 { }

[RnnModel("Models/gru_i1_h8_t5_b1_bf16.rnn.json")]
public partial class GruI1H8T5B1Bf16 { }

[RnnModel("Models/gru_i1_h8_t5_b1_int8.rnn.json")]
public partial class GruI1H8T5B1Int8 { }

[RnnModel("Models/gru_i6_h16_t9_b2_bidir_bf16.rnn.json")]
public partial class GruI6H16T9B2BidirBf16 { }

[RnnModel("Models/gru_i6_h16_t9_b2_bidir_int8.rnn.json")]
public partial class GruI6H16T9B2BidirInt8 { }

[RnnModel("Models/gru_before_i4_h20_t6_b2_l2_nobias_bf16.rnn.json")]
public partial class GruBeforeI4H20T6B2L2NobiasBf16 { }

[RnnModel("Models/gru_before_i4_h20_t6_b2_l2_nobias_int8.rnn.json")]
public partial class GruBeforeI4H20T6B2L2NobiasInt8 { }

[RnnModel("Models/rnn_relu_i8_h32_t20_b2_bf16.rnn.json")]
public partial class RnnReluI8H32T20B2Bf16 { }

[RnnModel("Models/rnn_relu_i8_h32_t20_b2_int8.rnn.json")]
public partial class RnnReluI8H32T20B2Int8 { }

[RnnModel("Models/lstm_wide_head_bf16.rnn.json")]
public partial class LstmWideHeadBf16 { }

[RnnModel("Models/lstm_wide_head_int8.rnn.json")]
public partial class LstmWideHeadInt8 { }

[RnnModel("Models/gru_bidir_head_sigmoid_bf16.rnn.json")]
public partial class GruBidirHeadSigmoidBf16 { }

[RnnModel("Models/gru_bidir_head_sigmoid_int8.rnn.json")]
public partial class GruBidirHeadSigmoidInt8 { }

// The int8 model a quantisation-aware training run of GruTinyRegression deploys to.
[RnnModel("Models/gru_tiny_regression_int8.rnn.json")]
public partial class GruTinyRegressionInt8 { }

/// <summary>Maps a model's name and storage type to its quantised twin (QuantisedWeightsTests, the reference runner's Arm64 check).</summary>
public static class QuantisedModels
{
    /// <summary>The reference cases (tests/refs) that have bf16 and int8 twins.</summary>
    public static readonly string[] ReferenceStems =
        ["lstm_i1_h8_t5_b1", "lstm_i8_h32_t20_b2", "lstm_i8_h16_t10_b2_l2", "gru_i1_h8_t5_b1", "gru_i6_h16_t9_b2_bidir", "gru_before_i4_h20_t6_b2_l2_nobias", "rnn_relu_i8_h32_t20_b2"];

    public static TResult Accept<TResult>(string model, WeightStorage storage, byte[] weights, KernelPath? path, IModelVisitor<TResult> visitor) => (model, storage) switch
    {
        ("lstm_i1_h8_t5_b1", WeightStorage.BFloat16) => visitor.Visit(LstmI1H8T5B1Bf16.FromSafetensors(weights, path)),
        ("lstm_i1_h8_t5_b1", WeightStorage.Int8) => visitor.Visit(LstmI1H8T5B1Int8.FromSafetensors(weights, path)),
        ("lstm_i8_h32_t20_b2", WeightStorage.BFloat16) => visitor.Visit(LstmI8H32T20B2Bf16.FromSafetensors(weights, path)),
        ("lstm_i8_h32_t20_b2", WeightStorage.Int8) => visitor.Visit(LstmI8H32T20B2Int8.FromSafetensors(weights, path)),
        ("lstm_i8_h16_t10_b2_l2", WeightStorage.BFloat16) => visitor.Visit(LstmI8H16T10B2L2Bf16.FromSafetensors(weights, path)),
        ("lstm_i8_h16_t10_b2_l2", WeightStorage.Int8) => visitor.Visit(LstmI8H16T10B2L2Int8.FromSafetensors(weights, path)),
        ("gru_i1_h8_t5_b1", WeightStorage.BFloat16) => visitor.Visit(GruI1H8T5B1Bf16.FromSafetensors(weights, path)),
        ("gru_i1_h8_t5_b1", WeightStorage.Int8) => visitor.Visit(GruI1H8T5B1Int8.FromSafetensors(weights, path)),
        ("gru_i6_h16_t9_b2_bidir", WeightStorage.BFloat16) => visitor.Visit(GruI6H16T9B2BidirBf16.FromSafetensors(weights, path)),
        ("gru_i6_h16_t9_b2_bidir", WeightStorage.Int8) => visitor.Visit(GruI6H16T9B2BidirInt8.FromSafetensors(weights, path)),
        ("gru_before_i4_h20_t6_b2_l2_nobias", WeightStorage.BFloat16) => visitor.Visit(GruBeforeI4H20T6B2L2NobiasBf16.FromSafetensors(weights, path)),
        ("gru_before_i4_h20_t6_b2_l2_nobias", WeightStorage.Int8) => visitor.Visit(GruBeforeI4H20T6B2L2NobiasInt8.FromSafetensors(weights, path)),
        ("rnn_relu_i8_h32_t20_b2", WeightStorage.BFloat16) => visitor.Visit(RnnReluI8H32T20B2Bf16.FromSafetensors(weights, path)),
        ("rnn_relu_i8_h32_t20_b2", WeightStorage.Int8) => visitor.Visit(RnnReluI8H32T20B2Int8.FromSafetensors(weights, path)),
        ("lstm_wide_head", WeightStorage.BFloat16) => visitor.Visit(LstmWideHeadBf16.FromSafetensors(weights, path)),
        ("lstm_wide_head", WeightStorage.Int8) => visitor.Visit(LstmWideHeadInt8.FromSafetensors(weights, path)),
        ("gru_bidir_head_sigmoid", WeightStorage.BFloat16) => visitor.Visit(GruBidirHeadSigmoidBf16.FromSafetensors(weights, path)),
        ("gru_bidir_head_sigmoid", WeightStorage.Int8) => visitor.Visit(GruBidirHeadSigmoidInt8.FromSafetensors(weights, path)),
        _ => throw new ArgumentException($"no {storage} twin of '{model}' in QuantisedModels.cs", nameof(model)),
    };
}
