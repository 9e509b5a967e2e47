using System.Diagnostics;
using System.Threading;
using Embedded.Rnn;

namespace NanoDevice
{
    // The model: an LSTM (1 input, 8 hidden) whose weights are baked into the assembly at build time from
    // models/sensor.safetensors.b64. "target": "nanoFramework" in the spec makes the generator emit plain
    // scalar code on float[] for nanoFramework's mscorlib.
    [RnnModel("models/sensor.rnn.json")]
    public partial class SensorNet
    {
    }

    public class Program
    {
        // Sample period of the (simulated) sensor.
        private const int PeriodMilliseconds = 100;

        public static void Main()
        {
            // Everything is allocated here, once: the model (its weights are static arrays), one state per
            // stream, and the input and output buffers. The loop below allocates nothing but the log strings.
            SensorNet model = SensorNet.FromBakedWeights();
            var state = new SensorNet.State();
            var x = new float[SensorNet.InputSize];
            var y = new float[SensorNet.OutputSize];
            var sensor = new SimulatedSensor();

            Debug.WriteLine("Embedded.Rnn on nanoFramework: " + SensorNet.CellKind + ", " + SensorNet.InputSize.ToString()
                + " input, " + SensorNet.HiddenSize.ToString() + " hidden, baked weights");

            for (int step = 0; ; step++)
            {
                x[0] = sensor.Read();
                model.Step(x, state, y);

                // The model's output is its top hidden state; report the first unit and the mean activation.
                float mean = 0f;
                for (int i = 0; i < SensorNet.OutputSize; i++)
                {
                    mean += y[i];
                }

                mean /= SensorNet.OutputSize;
                if (step % 10 == 0)
                {
                    Debug.WriteLine("step " + step.ToString() + ": x=" + x[0].ToString("F3") + " h0=" + y[0].ToString("F4") + " mean=" + mean.ToString("F4"));
                }

                if (step > 0 && step % 600 == 0)
                {
                    // E.g. after a recalibration: start the stream afresh.
                    state.Reset();
                }

                Thread.Sleep(PeriodMilliseconds);
            }
        }
    }

    /// <summary>
    /// Stands in for an ADC or an I2C sensor (on a device: System.Device.Adc's AdcChannel.ReadRatio(), say): a
    /// slow oscillation with a little deterministic noise, made without System.Math (not in nanoFramework's
    /// mscorlib) by rotating a unit vector a small angle each sample.
    /// </summary>
    internal sealed class SimulatedSensor
    {
        private const float Cos = 0.9950042f; // cos(0.1)
        private const float Sin = 0.09983342f; // sin(0.1)
        private float _c = 1f;
        private float _s;
        private uint _noise = 2463534242u;

        public float Read()
        {
            float c = _c * Cos - _s * Sin;
            _s = _c * Sin + _s * Cos;
            _c = c;

            // xorshift32 noise in [-0.05, 0.05).
            _noise ^= _noise << 13;
            _noise ^= _noise >> 17;
            _noise ^= _noise << 5;
            float noise = (_noise >> 8) * (1f / 16777216f) * 0.1f - 0.05f;
            return _s + noise;
        }
    }
}
