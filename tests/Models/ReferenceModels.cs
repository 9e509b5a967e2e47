namespace Embedded.Rnn.Tests.Models;

// One generated model per PyTorch reference case in refs/ (spec files beside this one).

[RnnModel("Models/gru_before_i5_h12_t7_b3.rnn.json")]
public partial class GruBeforeI5H12T7B3 { }

[RnnModel("Models/gru_before_i6_h16_t9_b2_bidir.rnn.json")]
public partial class GruBeforeI6H16T9B2Bidir { }

[RnnModel("Models/gru_before_i4_h20_t6_b2_l2_nobias.rnn.json")]
public partial class GruBeforeI4H20T6B2L2Nobias { }

[RnnModel("Models/gru_i1_h8_t5_b1.rnn.json")]
public partial class GruI1H8T5B1 { }

[RnnModel("Models/gru_i5_h12_t7_b3.rnn.json")]
public partial class GruI5H12T7B3 { }

[RnnModel("Models/gru_i6_h16_t9_b2_bidir.rnn.json")]
public partial class GruI6H16T9B2Bidir { }

[RnnModel("Models/gru_i8_h32_t20_b2.rnn.json")]
public partial class GruI8H32T20B2 { }

[RnnModel("Models/lstm_i1_h8_t5_b1.rnn.json")]
public partial class LstmI1H8T5B1 { }

[RnnModel("Models/lstm_i4_h16_t200_b1.rnn.json")]
public partial class LstmI4H16T200B1 { }

[RnnModel("Models/lstm_i5_h12_t6_b2_nobias.rnn.json")]
public partial class LstmI5H12T6B2Nobias { }

[RnnModel("Models/lstm_i6_h16_t9_b2_bidir.rnn.json")]
public partial class LstmI6H16T9B2Bidir { }

[RnnModel("Models/lstm_i8_h16_t10_b2_l2.rnn.json")]
public partial class LstmI8H16T10B2L2 { }

[RnnModel("Models/lstm_i8_h32_t20_b2.rnn.json")]
public partial class LstmI8H32T20B2 { }

[RnnModel("Models/rnn_relu_i1_h8_t5_b1.rnn.json")]
public partial class RnnReluI1H8T5B1 { }

[RnnModel("Models/rnn_relu_i8_h32_t20_b2.rnn.json")]
public partial class RnnReluI8H32T20B2 { }

[RnnModel("Models/rnn_tanh_i1_h8_t5_b1.rnn.json")]
public partial class RnnTanhI1H8T5B1 { }

[RnnModel("Models/rnn_tanh_i4_h16_t200_b1.rnn.json")]
public partial class RnnTanhI4H16T200B1 { }

[RnnModel("Models/rnn_tanh_i8_h32_t20_b2.rnn.json")]
public partial class RnnTanhI8H32T20B2 { }
