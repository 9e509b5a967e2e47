// How fast can one core do LSTM (8, 32)'s matrix-vector product at all? 4·32 rows × (8 + 32) columns: per step 320
// zmm FMAs on AVX-512, 640 ymm FMAs on AVX2. This times exactly that shape as our kernels lay it out (AVX-512: one pass
// of 8 accumulators of 16 rows; AVX2: two passes of 8 accumulators of 8 rows, as the Vector256 path's two tiles; one
// broadcast per column, weights read from an L1-resident 20 KiB array) and the same FMAs on registers only, so the fp32
// floor of a step is measured, not assumed. It also times a chain of dependent FMAs, whose latency (4 cycles on Zen 3,
// Zen 4 and Zen 5) gives the core's clock. The widest width the compiler targets is used.
// Build and run: gcc -O2 -march=native fma_throughput.c -o fma_throughput && ./fma_throughput
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#ifdef __AVX512F__
typedef __m512 Vec;
enum { Lanes = 16 };
#define Broadcast _mm512_set1_ps
#define Load _mm512_load_ps
#define MultiplyAdd _mm512_fmadd_ps
#define Zero _mm512_setzero_ps
#define Add _mm512_add_ps
static float Reduce(Vec v) { return _mm512_reduce_add_ps(v); }
static const char *Width = "zmm (AVX-512)";
#else
typedef __m256 Vec;
enum { Lanes = 8 };
#define Broadcast _mm256_set1_ps
#define Load _mm256_load_ps
#define MultiplyAdd _mm256_fmadd_ps
#define Zero _mm256_setzero_ps
#define Add _mm256_add_ps
static float Reduce(Vec v)
{
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
static const char *Width = "ymm (AVX2)";
#endif

// A pass holds 8 accumulators (what 16 registers leave room for beside the broadcast, and what the JIT uses on AVX-512).
enum { Rows = 128, Columns = 40, Vectors = Rows / Lanes, PassAccumulators = 8, Passes = Vectors / PassAccumulators, FmasPerStep = Vectors * Columns };

static float weights[Rows * Columns] __attribute__((aligned(64)));
static float inputs[Columns] __attribute__((aligned(64)));

static double NowNs(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void)
{
    for (int i = 0; i < Rows * Columns; i++) weights[i] = 1e-6f * (i % 7);
    for (int j = 0; j < Columns; j++) inputs[j] = 0.5f;
    const long steps = 2000000;

    Vec chain = Broadcast(1.0f), factor = Broadcast(0.999f), term = Broadcast(0.001f);
    const long links = 100000000;
    double start = NowNs();
    for (long i = 0; i < links; i++)
        __asm__ volatile("vfmadd213ps %2, %1, %0" : "+v"(chain) : "v"(factor), "v"(term));
    double link = (NowNs() - start) / links;
    printf("%s: a dependent FMA takes %.3f ns: %.2f GHz at 4 cycles each (checksum %g)\n", Width, link, 4 / link, Reduce(chain));

    for (int withLoads = 1; withLoads >= 0; withLoads--)
    {
        Vec acc[Vectors], one = Broadcast(1.0f);
        for (int k = 0; k < Vectors; k++) acc[k] = Zero();
        start = NowNs();
        for (long step = 0; step < steps; step++)
        {
            for (int pass = 0; pass < Passes; pass++)
            {
                // The pass's accumulators in locals, so that they live in registers as the kernels' do.
                Vec a[PassAccumulators];
#pragma GCC unroll 8
                for (int k = 0; k < PassAccumulators; k++) a[k] = acc[pass * PassAccumulators + k];
                const float *w = weights + pass * PassAccumulators * Lanes * Columns;
                for (int j = 0; j < Columns; j++)
                {
                    Vec x = Broadcast(inputs[j]);
#pragma GCC unroll 8
                    for (int k = 0; k < PassAccumulators; k++)
                        a[k] = MultiplyAdd(withLoads ? Load(w + (j * PassAccumulators + k) * Lanes) : one, x, a[k]);
                }
#pragma GCC unroll 8
                for (int k = 0; k < PassAccumulators; k++) acc[pass * PassAccumulators + k] = a[k];
            }
            __asm__ volatile("" : : "m"(inputs)); // the inputs may change between steps: keep the loop honest
        }
        double ns = (NowNs() - start) / steps;
        Vec sum = acc[0];
        for (int k = 1; k < Vectors; k++) sum = Add(sum, acc[k]);
        printf("%s, %s: %.1f ns per %d FMAs (%.4f ns per FMA, %.2f per cycle; checksum %g)\n", Width,
               withLoads ? "weights from L1" : "registers only", ns, FmasPerStep, ns / FmasPerStep, FmasPerStep * link / 4 / ns, Reduce(sum));
    }
    return 0;
}
