using Embedded.Rnn;

namespace Embedded.Rnn.Bench;

// The benchmark grid: one generated model per (cell, input, hidden); specs in bench/models, weights in bench/assets.
// The reset-before GRUs (issue 17) load the GRU assets: the two conventions have the same tensors.

[RnnModel("models/lstm_i1_h8.rnn.json")]
public partial class LstmI1H8 { }

[RnnModel("models/lstm_i8_h32.rnn.json")]
public partial class LstmI8H32 { }

[RnnModel("models/lstm_i16_h64.rnn.json")]
public partial class LstmI16H64 { }

[RnnModel("models/lstm_i32_h128.rnn.json")]
public partial class LstmI32H128 { }

[RnnModel("models/gru_i1_h8.rnn.json")]
public partial class GruI1H8 { }

[RnnModel("models/gru_i8_h32.rnn.json")]
public partial class GruI8H32 { }

[RnnModel("models/gru_i16_h64.rnn.json")]
public partial class GruI16H64 { }

[RnnModel("models/gru_i32_h128.rnn.json")]
public partial class GruI32H128 { }

[RnnModel("models/rnn_i1_h8.rnn.json")]
public partial class RnnI1H8 { }

[RnnModel("models/rnn_i8_h32.rnn.json")]
public partial class RnnI8H32 { }

[RnnModel("models/rnn_i16_h64.rnn.json")]
public partial class RnnI16H64 { }

[RnnModel("models/rnn_i32_h128.rnn.json")]
public partial class RnnI32H128 { }

[RnnModel("models/gru_before_i1_h8.rnn.json")]
public partial class GruBeforeI1H8 { }

[RnnModel("models/gru_before_i8_h32.rnn.json")]
public partial class GruBeforeI8H32 { }

[RnnModel("models/gru_before_i16_h64.rnn.json")]
public partial class GruBeforeI16H64 { }

[RnnModel("models/gru_before_i32_h128.rnn.json")]
public partial class GruBeforeI32H128 { }

// Narrower weights (issue 14): the same specs with "precision" bf16 and int8, on the same assets (quantised at load).

[RnnModel("models/lstm_i1_h8_bf16.rnn.json")]
public partial class LstmI1H8Bf16 { }

[RnnModel("models/lstm_i1_h8_int8.rnn.json")]
public partial class LstmI1H8Int8 { }

[RnnModel("models/lstm_i8_h32_bf16.rnn.json")]
public partial class LstmI8H32Bf16 { }

[RnnModel("models/lstm_i8_h32_int8.rnn.json")]
public partial class LstmI8H32Int8 { }

[RnnModel("models/lstm_i16_h64_bf16.rnn.json")]
public partial class LstmI16H64Bf16 { }

[RnnModel("models/lstm_i16_h64_int8.rnn.json")]
public partial class LstmI16H64Int8 { }

[RnnModel("models/lstm_i32_h128_bf16.rnn.json")]
public partial class LstmI32H128Bf16 { }

[RnnModel("models/lstm_i32_h128_int8.rnn.json")]
public partial class LstmI32H128Int8 { }

[RnnModel("models/gru_i1_h8_bf16.rnn.json")]
public partial class GruI1H8Bf16 { }

[RnnModel("models/gru_i1_h8_int8.rnn.json")]
public partial class GruI1H8Int8 { }

[RnnModel("models/gru_i8_h32_bf16.rnn.json")]
public partial class GruI8H32Bf16 { }

[RnnModel("models/gru_i8_h32_int8.rnn.json")]
public partial class GruI8H32Int8 { }

[RnnModel("models/gru_i16_h64_bf16.rnn.json")]
public partial class GruI16H64Bf16 { }

[RnnModel("models/gru_i16_h64_int8.rnn.json")]
public partial class GruI16H64Int8 { }

[RnnModel("models/gru_i32_h128_bf16.rnn.json")]
public partial class GruI32H128Bf16 { }

[RnnModel("models/gru_i32_h128_int8.rnn.json")]
public partial class GruI32H128Int8 { }

[RnnModel("models/rnn_i1_h8_bf16.rnn.json")]
public partial class RnnI1H8Bf16 { }

[RnnModel("models/rnn_i1_h8_int8.rnn.json")]
public partial class RnnI1H8Int8 { }

[RnnModel("models/rnn_i8_h32_bf16.rnn.json")]
public partial class RnnI8H32Bf16 { }

[RnnModel("models/rnn_i8_h32_int8.rnn.json")]
public partial class RnnI8H32Int8 { }

[RnnModel("models/rnn_i16_h64_bf16.rnn.json")]
public partial class RnnI16H64Bf16 { }

[RnnModel("models/rnn_i16_h64_int8.rnn.json")]
public partial class RnnI16H64Int8 { }

[RnnModel("models/rnn_i32_h128_bf16.rnn.json")]
public partial class RnnI32H128Bf16 { }

[RnnModel("models/rnn_i32_h128_int8.rnn.json")]
public partial class RnnI32H128Int8 { }
