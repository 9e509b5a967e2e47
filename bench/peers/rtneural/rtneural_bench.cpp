// RTNeural as a peer of Embedded.Rnn (issue 16, item 1): the benchmark grid's LSTM and GRU weights
// (bench/assets/*.safetensors, PyTorch state_dict names) loaded into RTNeural's compile-time layers, checked against
// a float64 reference of PyTorch's equations, then one streaming step (batch 1, state carried, model.forward(x))
// timed with the scheme of bench/Embedded.Rnn.Bench.Aot: median and min of 15 rounds of ~20 ms after a 300 ms warm-up.
//
//   rtneural_bench [--verify] [--assets DIR] [FILTER]
//
// --verify runs the agreement check only; FILTER keeps the models whose name contains it (e.g. lstm, gru_i8_h32).
// Every model is checked before anything is timed; a difference above 1e-4 stops the program with exit code 1.
// Build with build.sh beside this file (it points the compiler at an RTNeural checkout; RTNeural is not vendored).

#include <RTNeural/RTNeural.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef BENCH_ASSETS_DIR
#define BENCH_ASSETS_DIR "bench/assets"
#endif
#ifndef BENCH_COMPILER
#define BENCH_COMPILER "unknown compiler"
#endif
#ifndef BENCH_FLAGS
#define BENCH_FLAGS "unknown flags"
#endif
#ifndef RTNEURAL_COMMIT
#define RTNEURAL_COMMIT "unknown"
#endif

namespace
{
constexpr int SequenceLength = 100;
constexpr double Tolerance = 1e-4;

// ---- safetensors: 8-byte little-endian header length, a JSON header, then the raw tensor bytes ----

/// One safetensors file in memory. The header is parsed with the JSON parser RTNeural already ships
/// (nlohmann::json, included by RTNeural.h), so the reader itself only checks sizes, dtype and shape.
class SafetensorsFile
{
public:
    explicit SafetensorsFile(const std::string& path) : path_(path)
    {
        std::ifstream file(path, std::ios::binary);
        if(! file)
            throw std::runtime_error(path + ": cannot open (run bench/assets/make_assets.py to make the assets)");
        std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        if(bytes.size() < 8)
            throw std::runtime_error(path + ": shorter than the 8-byte header length");

        std::uint64_t headerLength = 0;
        for(int i = 7; i >= 0; --i)
            headerLength = (headerLength << 8) | bytes[(size_t)i];
        if(headerLength > bytes.size() - 8)
            throw std::runtime_error(path + ": header length " + std::to_string(headerLength) + " runs past the end of the file");

        header_ = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + (std::ptrdiff_t)headerLength);
        data_.assign(bytes.begin() + 8 + (std::ptrdiff_t)headerLength, bytes.end());
    }

    /// The F32 tensor `name`, which must have exactly `shape`; values in row-major order.
    std::vector<float> read(const std::string& name, const std::vector<std::int64_t>& shape) const
    {
        if(! header_.contains(name))
            throw std::runtime_error(path_ + ": no tensor named " + name);
        const auto& entry = header_.at(name);
        const auto dtype = entry.at("dtype").get<std::string>();
        if(dtype != "F32")
            throw std::runtime_error(path_ + ": " + name + " is " + dtype + ", expected F32");
        const auto actualShape = entry.at("shape").get<std::vector<std::int64_t>>();
        if(actualShape != shape)
            throw std::runtime_error(path_ + ": " + name + " has shape " + entry.at("shape").dump() + ", expected " + nlohmann::json(shape).dump());

        const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
        std::uint64_t count = 1;
        for(auto d : shape)
            count *= (std::uint64_t)d;
        if(offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] > data_.size() || offsets[1] - offsets[0] != count * 4)
            throw std::runtime_error(path_ + ": " + name + " has data_offsets " + entry.at("data_offsets").dump() + " that do not fit its shape and the file");

        // The file is little-endian; so are the hosts this runs on (x86-64, arm64), checked in main.
        std::vector<float> values(count);
        std::memcpy(values.data(), data_.data() + offsets[0], count * 4);
        return values;
    }

private:
    std::string path_;
    nlohmann::json header_;
    std::vector<unsigned char> data_;
};

// ---- the PyTorch weights and an independent float64 reference ----

/// PyTorch nn.LSTM / nn.GRU tensors, row-major: W_ih [G·H, I], W_hh [G·H, H], b_ih and b_hh [G·H];
/// gate blocks in PyTorch order (LSTM i,f,g,o; GRU r,z,n).
struct TorchWeights
{
    std::string cell;
    int input = 0, hidden = 0, gates = 0;
    std::vector<float> wIh, wHh, bIh, bHh;

    static TorchWeights load(const std::string& path, const std::string& cell, int input, int hidden)
    {
        const int gates = cell == "lstm" ? 4 : 3;
        const std::int64_t rows = (std::int64_t)gates * hidden;
        SafetensorsFile file(path);
        return { cell, input, hidden, gates,
            file.read("weight_ih_l0", { rows, input }), file.read("weight_hh_l0", { rows, hidden }),
            file.read("bias_ih_l0", { rows }), file.read("bias_hh_l0", { rows }) };
    }
};

/// PyTorch's equations, written out in double, independent of RTNeural and of our kernels.
/// LSTM: c = f·c + i·g, h = o·tanh(c). GRU: n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h = (1 − z)·n + z·h.
class Reference
{
public:
    explicit Reference(const TorchWeights& w) : w_(w), h_((size_t)w.hidden), c_((size_t)w.hidden) {}

    const std::vector<double>& step(const float* x)
    {
        const int rows = w_.gates * w_.hidden;
        std::vector<double> fromInput((size_t)rows), fromHidden((size_t)rows);
        for(int r = 0; r < rows; ++r)
        {
            double a = w_.bIh[(size_t)r], b = w_.bHh[(size_t)r];
            for(int j = 0; j < w_.input; ++j)
                a += (double)w_.wIh[(size_t)(r * w_.input + j)] * x[j];
            for(int j = 0; j < w_.hidden; ++j)
                b += (double)w_.wHh[(size_t)(r * w_.hidden + j)] * h_[(size_t)j];
            fromInput[(size_t)r] = a;
            fromHidden[(size_t)r] = b;
        }

        const auto at = [&](const std::vector<double>& v, int gate, int k) { return v[(size_t)(gate * w_.hidden + k)]; };
        for(int k = 0; k < w_.hidden; ++k)
        {
            if(w_.cell == "lstm")
            {
                const double i = sigmoid(at(fromInput, 0, k) + at(fromHidden, 0, k));
                const double f = sigmoid(at(fromInput, 1, k) + at(fromHidden, 1, k));
                const double g = std::tanh(at(fromInput, 2, k) + at(fromHidden, 2, k));
                const double o = sigmoid(at(fromInput, 3, k) + at(fromHidden, 3, k));
                c_[(size_t)k] = f * c_[(size_t)k] + i * g;
                h_[(size_t)k] = o * std::tanh(c_[(size_t)k]);
            }
            else
            {
                const double r = sigmoid(at(fromInput, 0, k) + at(fromHidden, 0, k));
                const double z = sigmoid(at(fromInput, 1, k) + at(fromHidden, 1, k));
                const double n = std::tanh(at(fromInput, 2, k) + r * at(fromHidden, 2, k));
                h_[(size_t)k] = (1 - z) * n + z * h_[(size_t)k];
            }
        }
        return h_;
    }

private:
    static double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

    const TorchWeights& w_;
    std::vector<double> h_, c_;
};

// ---- PyTorch -> RTNeural (Keras layouts) ----

/// A Keras-layout kernel, [columns][G·H] (PyTorch's rows transposed), with Keras gate block g taken from
/// PyTorch gate block torchGate[g].
std::vector<std::vector<float>> kerasKernel(const std::vector<float>& torch, int columns, int hidden, const std::vector<int>& torchGate)
{
    std::vector<std::vector<float>> kernel((size_t)columns, std::vector<float>(torchGate.size() * (size_t)hidden));
    for(int j = 0; j < columns; ++j)
        for(size_t g = 0; g < torchGate.size(); ++g)
            for(int k = 0; k < hidden; ++k)
                kernel[(size_t)j][g * (size_t)hidden + (size_t)k] = torch[(size_t)((torchGate[g] * hidden + k) * columns + j)];
    return kernel;
}

std::vector<float> kerasBias(const std::vector<float>& torch, int hidden, const std::vector<int>& torchGate)
{
    std::vector<float> bias(torchGate.size() * (size_t)hidden);
    for(size_t g = 0; g < torchGate.size(); ++g)
        for(int k = 0; k < hidden; ++k)
            bias[g * (size_t)hidden + (size_t)k] = torch[(size_t)(torchGate[g] * hidden + k)];
    return bias;
}

// Keras LSTM gates i,f,c,o are PyTorch's i,f,g,o; RTNeural's LSTM has one bias, so b_ih + b_hh.
template <int I, int H>
void load(RTNeural::LSTMLayerT<float, I, H>& layer, const TorchWeights& w)
{
    const std::vector<int> order { 0, 1, 2, 3 };
    layer.setWVals(kerasKernel(w.wIh, I, H, order));
    layer.setUVals(kerasKernel(w.wHh, H, H, order));
    auto bias = kerasBias(w.bIh, H, order);
    const auto hiddenBias = kerasBias(w.bHh, H, order);
    for(size_t k = 0; k < bias.size(); ++k)
        bias[k] += hiddenBias[k];
    layer.setBVals(bias);
}

// Keras GRU gates z,r,h are PyTorch's z,r,n = blocks 1,0,2. RTNeural's GRU is Keras' reset_after=True form: two bias
// vectors, and r multiplies (U_h h + b_hh), which is PyTorch's n.
template <int I, int H>
void load(RTNeural::GRULayerT<float, I, H>& layer, const TorchWeights& w)
{
    const std::vector<int> order { 1, 0, 2 };
    layer.setWVals(kerasKernel(w.wIh, I, H, order));
    layer.setUVals(kerasKernel(w.wHh, H, H, order));
    layer.setBVals({ kerasBias(w.bIh, H, order), kerasBias(w.bHh, H, order) });
}

// ---- inputs and timing ----

/// Deterministic inputs in [-1, 1) (splitmix64). The same range as the C# suites' inputs, not the same values.
std::vector<float> inputs(size_t count, std::uint64_t seed)
{
    std::vector<float> values(count);
    for(auto& v : values)
    {
        std::uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        v = (float)((double)(z >> 11) * 0x1.0p-53 * 2 - 1);
    }
    return values;
}

struct Timing
{
    double median, min;
};

double millisecondsSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// ns per call of body(n)/n, as bench/Embedded.Rnn.Bench.Aot: calibrate a round to ~20 ms, warm up ~300 ms,
/// then the median and min of 15 rounds.
template <typename Body>
Timing measure(Body&& body)
{
    constexpr int Rounds = 15;
    long n = 16;
    while(true)
    {
        const auto t0 = std::chrono::steady_clock::now();
        body(n);
        const double ms = millisecondsSince(t0);
        if(ms > 5)
        {
            n = std::max(1L, (long)((double)n * 20 / ms));
            break;
        }
        n *= 4;
    }

    const auto warmupEnd = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while(std::chrono::steady_clock::now() < warmupEnd)
        body(n / 4 + 1);

    double samples[Rounds];
    for(auto& sample : samples)
    {
        const auto t0 = std::chrono::steady_clock::now();
        body(n);
        sample = millisecondsSince(t0) * 1e6 / (double)n;
    }
    std::sort(std::begin(samples), std::end(samples));
    return { samples[Rounds / 2], samples[0] };
}

volatile float sink; // keeps the timed outputs observable

// ---- one model of the grid on RTNeural ----

class Peer
{
public:
    virtual ~Peer() = default;
    virtual const std::string& name() const = 0;
    /// Max |RTNeural − reference| over every output of a 100-step sequence from the zero state.
    virtual double maxDifference() = 0;
    /// One streaming step (the same input every step, state carried).
    virtual Timing timeStep() = 0;
};

template <typename Layer>
class RtneuralPeer final : public Peer
{
    static constexpr int I = Layer::in_size, H = Layer::out_size;
    using Model = RTNeural::ModelT<float, I, H, Layer>;

public:
    RtneuralPeer(const std::string& cell, const std::string& assetsDir)
        : name_(cell + "_i" + std::to_string(I) + "_h" + std::to_string(H)),
          weights_(TorchWeights::load(assetsDir + "/" + name_ + ".safetensors", cell, I, H)),
          model_(std::make_unique<Model>())
    {
        load(model_->template get<0>(), weights_);
    }

    const std::string& name() const override { return name_; }

    double maxDifference() override
    {
        Reference reference(weights_);
        model_->reset();
        const auto xs = inputs((size_t)(SequenceLength * I), 2);
        alignas(64) float x[I]; // RTNeural's Eigen backend maps the input as aligned
        double worst = 0;
        for(int t = 0; t < SequenceLength; ++t)
        {
            std::copy_n(xs.data() + t * I, I, x);
            model_->forward(x);
            const auto& expected = reference.step(x);
            for(int k = 0; k < H; ++k)
                worst = std::max(worst, std::abs((double)model_->getOutputs()[k] - expected[(size_t)k]));
        }
        return worst;
    }

    Timing timeStep() override
    {
        model_->reset();
        alignas(64) float x[I];
        const auto values = inputs(I, 1);
        std::copy(values.begin(), values.end(), x);
        Model& model = *model_;
        return measure([&](long n) {
            float last = 0;
            for(long i = 0; i < n; ++i)
                last = model.forward(x);
            sink = last;
        });
    }

private:
    std::string name_;
    TorchWeights weights_;
    std::unique_ptr<Model> model_;
};

template <typename Layer>
void add(std::vector<std::unique_ptr<Peer>>& peers, const std::string& cell, const std::string& assetsDir, const std::string& filter)
{
    const std::string name = cell + "_i" + std::to_string(Layer::in_size) + "_h" + std::to_string(Layer::out_size);
    if(name.find(filter) != std::string::npos)
        peers.push_back(std::make_unique<RtneuralPeer<Layer>>(cell, assetsDir));
}

/// "model name (family F model M)" from /proc/cpuinfo: a virtual machine's model name can be as short as "AMD EPYC".
std::string cpuModel()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string name = "unknown CPU", family, model;
    for(std::string line; std::getline(cpuinfo, line) && line.find_first_not_of(" \t") != std::string::npos;)
    {
        const auto colon = line.find(": ");
        const auto value = colon == std::string::npos ? std::string() : line.substr(colon + 2);
        if(line.rfind("model name", 0) == 0)
            name = value;
        else if(line.rfind("cpu family", 0) == 0)
            family = value;
        else if(line.rfind("model\t", 0) == 0)
            model = value;
    }
    return family.empty() ? name : name + " (family " + family + " model " + model + ")";
}

std::string utcNow()
{
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    return text;
}
} // namespace

int main(int argc, char** argv)
{
    bool verifyOnly = false;
    std::string assetsDir = BENCH_ASSETS_DIR, filter;
    for(int i = 1; i < argc; ++i)
    {
        const std::string arg = argv[i];
        if(arg == "--verify")
            verifyOnly = true;
        else if(arg == "--assets" && i + 1 < argc)
            assetsDir = argv[++i];
        else
            filter = arg;
    }

    const std::uint32_t one = 1;
    if(*reinterpret_cast<const unsigned char*>(&one) != 1)
    {
        std::cerr << "error: this harness reads safetensors' little-endian floats directly and needs a little-endian host\n";
        return 1;
    }

    try
    {
        std::vector<std::unique_ptr<Peer>> peers;
        add<RTNeural::LSTMLayerT<float, 1, 8>>(peers, "lstm", assetsDir, filter);
        add<RTNeural::LSTMLayerT<float, 8, 32>>(peers, "lstm", assetsDir, filter);
        add<RTNeural::LSTMLayerT<float, 16, 64>>(peers, "lstm", assetsDir, filter);
        add<RTNeural::LSTMLayerT<float, 32, 128>>(peers, "lstm", assetsDir, filter);
        add<RTNeural::GRULayerT<float, 1, 8>>(peers, "gru", assetsDir, filter);
        add<RTNeural::GRULayerT<float, 8, 32>>(peers, "gru", assetsDir, filter);
        add<RTNeural::GRULayerT<float, 16, 64>>(peers, "gru", assetsDir, filter);
        add<RTNeural::GRULayerT<float, 32, 128>>(peers, "gru", assetsDir, filter);

        std::cout << "RTNeural step timing: RTNeural " << RTNEURAL_COMMIT << ", Eigen " << EIGEN_WORLD_VERSION << '.' << EIGEN_MAJOR_VERSION
                  << '.' << EIGEN_MINOR_VERSION << " backend (" << Eigen::SimdInstructionSetsInUse() << "), alignment "
                  << RTNEURAL_DEFAULT_ALIGNMENT << "; " << BENCH_COMPILER << ", " << BENCH_FLAGS << '\n';
        std::cout << "Machine: " << cpuModel() << "; " << utcNow() << "\n\n";

        // Every model agrees before anything is timed.
        std::vector<double> differences;
        for(const auto& peer : peers)
        {
            differences.push_back(peer->maxDifference());
            if(! (differences.back() <= Tolerance))
            {
                std::cerr << "error: " << peer->name() << ": RTNeural differs from the float64 reference by " << differences.back()
                          << " over " << SequenceLength << " steps (limit " << Tolerance << "): check the weight mapping\n";
                return 1;
            }
        }

        std::cout << "| model | Step median ns | Step min ns | max abs diff vs float64 reference (" << SequenceLength << " steps) |\n";
        std::cout << "|---|--:|--:|--:|\n";
        for(size_t p = 0; p < peers.size(); ++p)
        {
            std::ostringstream row;
            row.setf(std::ios::fixed);
            row.precision(1);
            row << "| " << peers[p]->name() << " | ";
            if(verifyOnly)
                row << "- | - | ";
            else
            {
                const Timing t = peers[p]->timeStep();
                row << t.median << " | " << t.min << " | ";
            }
            row.unsetf(std::ios::fixed);
            row.precision(2);
            row << std::scientific << differences[p] << " |";
            std::cout << row.str() << std::endl;
        }
    }
    catch(const std::exception& e)
    {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
