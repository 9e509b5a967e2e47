// Models only the compile check holds: a class in the global namespace, and a larger baked-free stack.

[Embedded.Rnn.RnnModel("models/nano_global_gru.rnn.json")]
public partial class NanoGlobalGru
{
}

namespace Embedded.Rnn.NanoCheck
{
    [RnnModel("models/nano_lstm_bidir3_wide.rnn.json")]
    internal partial class NanoLstmBidir3Wide
    {
    }
}
