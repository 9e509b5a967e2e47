namespace Embedded.Rnn.Tests.Models;

// The nanoFramework flavour ("target": "nanoFramework") of every reference case and of the derived configurations,
// run on desktop .NET by NanoFrameworkParityTests: the same generated source tools/NanoCheck compiles against
// nanoFramework's mscorlib.

[RnnModel("Models/nano_gru_before_i5_h12_t7_b3.rnn.json")]
public partial class NanoGruBeforeI5H12T7B3 { }

[RnnModel("Models/nano_gru_before_i6_h16_t9_b2_bidir.rnn.json")]
public partial class NanoGruBeforeI6H16T9B2Bidir { }

[RnnModel("Models/nano_gru_before_i4_h20_t6_b2_l2_nobias.rnn.json")]
public partial class NanoGruBeforeI4H20T6B2L2Nobias { }

[RnnModel("Models/nano_gru_i1_h8_t5_b1.rnn.json")]
public partial class NanoGruI1H8T5B1 { }

[RnnModel("Models/nano_gru_i5_h12_t7_b3.rnn.json")]
public partial class NanoGruI5H12T7B3 { }

[RnnModel("Models/nano_gru_i6_h16_t9_b2_bidir.rnn.json")]
public partial class NanoGruI6H16T9B2Bidir { }

[RnnModel("Models/nano_gru_i8_h32_t20_b2.rnn.json")]
public partial class NanoGruI8H32T20B2 { }

[RnnModel("Models/nano_lstm_i1_h8_t5_b1.rnn.json")]
public partial class NanoLstmI1H8T5B1 { }

[RnnModel("Models/nano_lstm_i4_h16_t200_b1.rnn.json")]
public partial class NanoLstmI4H16T200B1 { }

[RnnModel("Models/nano_lstm_i5_h12_t6_b2_nobias.rnn.json")]
public partial class NanoLstmI5H12T6B2Nobias { }

[RnnModel("Models/nano_lstm_i6_h16_t9_b2_bidir.rnn.json")]
public partial class NanoLstmI6H16T9B2Bidir { }

[RnnModel("Models/nano_lstm_i8_h16_t10_b2_l2.rnn.json")]
public partial class NanoLstmI8H16T10B2L2 { }

[RnnModel("Models/nano_lstm_i8_h32_t20_b2.rnn.json")]
public partial class NanoLstmI8H32T20B2 { }

[RnnModel("Models/nano_rnn_relu_i1_h8_t5_b1.rnn.json")]
public partial class NanoRnnReluI1H8T5B1 { }

[RnnModel("Models/nano_rnn_relu_i8_h32_t20_b2.rnn.json")]
public partial class NanoRnnReluI8H32T20B2 { }

[RnnModel("Models/nano_rnn_tanh_i1_h8_t5_b1.rnn.json")]
public partial class NanoRnnTanhI1H8T5B1 { }

[RnnModel("Models/nano_rnn_tanh_i4_h16_t200_b1.rnn.json")]
public partial class NanoRnnTanhI4H16T200B1 { }

[RnnModel("Models/nano_rnn_tanh_i8_h32_t20_b2.rnn.json")]
public partial class NanoRnnTanhI8H32T20B2 { }

[RnnModel("Models/nano_lstm_head_softmax.rnn.json")]
public partial class NanoLstmHeadSoftmax { }

[RnnModel("Models/nano_gru_bidir_head_sigmoid.rnn.json")]
public partial class NanoGruBidirHeadSigmoid { }

[RnnModel("Models/nano_rnn_leaky_deep.rnn.json")]
public partial class NanoRnnLeakyDeep { }

[RnnModel("Models/nano_rnn_relu_bidir3_head_tanh.rnn.json")]
public partial class NanoRnnReluBidir3HeadTanh { }

[RnnModel("Models/nano_lstm_wide_head.rnn.json")]
public partial class NanoLstmWideHead { }

[RnnModel("Models/nano_gru_nobias_bidir.rnn.json")]
public partial class NanoGruNobiasBidir { }

[RnnModel("Models/nano_lstm_baked.rnn.json")]
public partial class NanoLstmBaked { }

[RnnModel("Models/nano_lstm_bidir2_head_softmax.rnn.json")]
public partial class NanoLstmBidir2HeadSoftmax { }

// bfloat16 and int8 twins (spec "precision"): weight matrices stored as ushort[] bfloat16 bits or sbyte[] with a scale per
// row (NanoQuantisedParityTests).

[RnnModel("Models/nano_lstm_i1_h8_t5_b1_bf16.rnn.json")]
public partial class NanoLstmI1H8T5B1Bf16 { }

[RnnModel("Models/nano_lstm_i1_h8_t5_b1_int8.rnn.json")]
public partial class NanoLstmI1H8T5B1Int8 { }

[RnnModel("Models/nano_lstm_i8_h16_t10_b2_l2_bf16.rnn.json")]
public partial class NanoLstmI8H16T10B2L2Bf16 { }

[RnnModel("Models/nano_lstm_i8_h16_t10_b2_l2_int8.rnn.json")]
public partial class NanoLstmI8H16T10B2L2Int8 { }

[RnnModel("Models/nano_gru_i6_h16_t9_b2_bidir_bf16.rnn.json")]
public partial class NanoGruI6H16T9B2BidirBf16 { }

[RnnModel("Models/nano_gru_i6_h16_t9_b2_bidir_int8.rnn.json")]
public partial class NanoGruI6H16T9B2BidirInt8 { }

[RnnModel("Models/nano_gru_before_i4_h20_t6_b2_l2_nobias_bf16.rnn.json")]
public partial class NanoGruBeforeI4H20T6B2L2NobiasBf16 { }

[RnnModel("Models/nano_gru_before_i4_h20_t6_b2_l2_nobias_int8.rnn.json")]
public partial class NanoGruBeforeI4H20T6B2L2NobiasInt8 { }

[RnnModel("Models/nano_rnn_relu_i8_h32_t20_b2_bf16.rnn.json")]
public partial class NanoRnnReluI8H32T20B2Bf16 { }

[RnnModel("Models/nano_rnn_relu_i8_h32_t20_b2_int8.rnn.json")]
public partial class NanoRnnReluI8H32T20B2Int8 { }

[RnnModel("Models/nano_lstm_wide_head_bf16.rnn.json")]
public partial class NanoLstmWideHeadBf16 { }

[RnnModel("Models/nano_lstm_wide_head_int8.rnn.json")]
public partial class NanoLstmWideHeadInt8 { }

[RnnModel("Models/nano_lstm_baked_bf16.rnn.json")]
public partial class NanoLstmBakedBf16 { }

[RnnModel("Models/nano_lstm_baked_int8.rnn.json")]
public partial class NanoLstmBakedInt8 { }

// A single bidirectional layer without a head whose outputs are the size of its inputs: Run in place is refused (InPlaceTests).
[RnnModel("Models/nano_gru_i8_h4_bidir.rnn.json")]
public partial class NanoGruI8H4Bidir { }
