namespace Embedded.Rnn.Tests.Models;

// Configurations the PyTorch references do not cover (heads, leaky ReLU, deep and bidirectional stacks,
// sizes that leave partial vectors and tiles), checked against the float64 reference implementation.

[RnnModel("Models/lstm_head_softmax.rnn.json")]
public partial class LstmHeadSoftmax { }

[RnnModel("Models/gru_bidir_head_sigmoid.rnn.json")]
public partial class GruBidirHeadSigmoid { }

[RnnModel("Models/rnn_leaky_deep.rnn.json")]
public partial class RnnLeakyDeep { }

[RnnModel("Models/rnn_relu_bidir3_head_tanh.rnn.json")]
public partial class RnnReluBidir3HeadTanh { }

[RnnModel("Models/lstm_wide_head.rnn.json")]
public partial class LstmWideHead { }

[RnnModel("Models/gru_nobias_bidir.rnn.json")]
public partial class GruNobiasBidir { }

// Input = hidden: every layer runs one kernel; 18 columns: rolled loops with a remainder, and remainder tiles.
[RnnModel("Models/gru_same_width_deep.rnn.json")]
public partial class GruSameWidthDeep { }

// Outputs the size of the inputs, for Run and Step in place (InPlaceTests): a single bidirectional layer without a head,
// which must refuse it, and a unidirectional LSTM, which allows it in every form.
[RnnModel("Models/gru_i8_h4_bidir.rnn.json")]
public partial class GruI8H4Bidir { }

[RnnModel("Models/lstm_i16_h16.rnn.json")]
public partial class LstmI16H16 { }

// Models large enough for the time-batched Run (8 or more inputs, 64 or more hidden units): reset-before GRUs, whose
// projected steps run the second pass (float32 and int8), a two-layer GRU and a vanilla RNN.
[RnnModel("Models/gru_before_i9_h64_l2.rnn.json")]
public partial class GruBeforeI9H64L2 { }

[RnnModel("Models/gru_before_i9_h64_l2_int8.rnn.json")]
public partial class GruBeforeI9H64L2Int8 { }

[RnnModel("Models/gru_i12_h64_l2.rnn.json")]
public partial class GruI12H64L2 { }

[RnnModel("Models/rnn_i10_h72.rnn.json")]
public partial class RnnI10H72 { }

// Small models the trainer tests train.

[RnnModel("Models/gru_tiny_regression.rnn.json")]
public partial class GruTinyRegression { }

[RnnModel("Models/lstm_tiny_classifier.rnn.json")]
public partial class LstmTinyClassifier { }

// GruTinyRegression's sizes without bias: a checkpoint of one must not resume the other.
[RnnModel("Models/gru_tiny_regression_nobias.rnn.json")]
public partial class GruTinyRegressionNoBias { }

// Weights baked in at build time: the parameters of refs/lstm_i1_h8_t5_b1, base64-encoded beside the spec.

[RnnModel("Models/lstm_baked.rnn.json")]
public partial class LstmBaked { }

// The same weights baked in their stored type: bfloat16, and int8 with row scales.
[RnnModel("Models/lstm_baked_bf16.rnn.json")]
public partial class LstmBakedBFloat16 { }

[RnnModel("Models/lstm_baked_int8.rnn.json")]
public partial class LstmBakedInt8 { }

// The same weights with weight_hh_l0[3, 5] (flat index 29) set to -Infinity: FromBakedWeights must refuse them.
[RnnModel("Models/lstm_baked_neginf.rnn.json")]
public partial class LstmBakedNegInf { }
