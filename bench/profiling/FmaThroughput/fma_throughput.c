// How fast can one core do LSTM (8, 32)'s matrix-vector product at all? 4·32 rows × (8 + 32) columns is 320 zmm FMAs
// per step. This times exactly that shape (8 accumulators of 16 rows, one broadcast per column, weights read from an
// L1-resident 20 KiB array) and the same FMAs on registers only, so the fp32 floor of a step is measured, not assumed.
// Build and run (AVX-512 machine): gcc -O2 -march=native fma_throughput.c -o fma_throughput && ./fma_throughput
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

enum { Rows = 128, Columns = 40, Accumulators = Rows / 16, FmasPerStep = Accumulators * Columns };

static float weights[Rows * Columns] __attribute__((aligned(64)));
static float inputs[Columns] __attribute__((aligned(64)));

static double NowNs(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static float Sum(const __m512 *acc)
{
    __m512 s = acc[0];
    for (int k = 1; k < Accumulators; k++) s = _mm512_add_ps(s, acc[k]);
    return _mm512_reduce_add_ps(s);
}

int main(void)
{
    for (int i = 0; i < Rows * Columns; i++) weights[i] = 1e-6f * (i % 7);
    for (int j = 0; j < Columns; j++) inputs[j] = 0.5f;
    const long steps = 2000000;

    for (int withLoads = 1; withLoads >= 0; withLoads--)
    {
        __m512 acc[Accumulators], one = _mm512_set1_ps(1.0f);
        for (int k = 0; k < Accumulators; k++) acc[k] = _mm512_setzero_ps();
        double start = NowNs();
        for (long step = 0; step < steps; step++)
        {
            for (int j = 0; j < Columns; j++)
            {
                __m512 x = _mm512_set1_ps(inputs[j]);
#pragma GCC unroll 8
                for (int k = 0; k < Accumulators; k++)
                    acc[k] = _mm512_fmadd_ps(withLoads ? _mm512_load_ps(weights + j * Rows + k * 16) : one, x, acc[k]);
            }
            __asm__ volatile("" : : "m"(inputs)); // the inputs may change between steps: keep the loop honest
        }
        double ns = (NowNs() - start) / steps;
        printf("%s: %.1f ns per %d FMAs (%.4f ns per FMA; checksum %g)\n",
               withLoads ? "weights from L1" : "registers only", ns, FmasPerStep, ns / FmasPerStep, Sum(acc));
    }
    return 0;
}
