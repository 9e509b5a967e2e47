// What a narrow weight costs a tile (issue 14): 8 accumulators × 40 columns of 16-lane FMAs, weights from L1, with each
// weight vector loaded as float32, widened from bf16 (vpmovzxwd + shift, or paired columns: one shift or one mask per
// vector) or from int8 (vpmovsxbd + convert; four vectors from one load by shifts; or an offset-float trick). Prints ns
// and cycles (at 3.4 GHz) per weight vector. Flush-to-zero is set: the bytes are arbitrary, and denormals would time
// microcode assists, not the instructions.
// Build and run (AVX-512 machine): gcc -O3 -funroll-all-loops -march=native weight_widening.c -o weight_widening && ./weight_widening
#include <immintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>
enum { Acc = 8, Cols = 40, Vectors = Acc * Cols };
static uint8_t buf[Vectors * 64] __attribute__((aligned(64)));
static float xs[Cols];
static double Now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
#define RUN(NAME, BODY) { __m512 a[Acc]; for(int k=0;k<Acc;k++)a[k]=_mm512_setzero_ps(); double best=1e30; \
  for(int r=0;r<5;r++){double s=Now(); for(long st=0;st<200000;st++){ for(int j=0;j<Cols;j++){ __m512 x=_mm512_set1_ps(xs[j]); BODY } } double e=(Now()-s)/200000/Vectors; if(e<best)best=e;} \
  float z=0; for(int k=0;k<Acc;k++) z+=_mm512_reduce_add_ps(a[k]); printf("%-28s %.3f ns/vector (%.2f cycles @3.4GHz) %g\n", NAME, best, best*3.4, z); }
int main(void){ _mm_setcsr(_mm_getcsr() | 0x8040);
  for(int i=0;i<(int)sizeof buf;i++) buf[i]=(uint8_t)(i*7); for(int j=0;j<Cols;j++) xs[j]=1e-3f;
  RUN("f32 fma m512", for(int k=0;k<Acc;k++){ __m512 w=_mm512_load_ps((float*)(buf+(j*Acc+k)*64)); a[k]=_mm512_fmadd_ps(w,x,a[k]); })
  RUN("bf16 vpmovzxwd+shift", for(int k=0;k<Acc;k++){ __m512i w=_mm512_cvtepu16_epi32(_mm256_load_si256((__m256i*)(buf+(j*Acc+k)*32))); a[k]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w,16)),x,a[k]); })
  RUN("bf16 pair shift/and", for(int k=0;k<Acc;k+=2){ __m512i w=_mm512_load_si512((__m512i*)(buf+(j*Acc+k)*32)); a[k]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w,16)),x,a[k]); a[k+1]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(w,_mm512_set1_epi32(0xFFFF0000))),x,a[k+1]); })
  RUN("int8 vpmovsxbd+cvt", for(int k=0;k<Acc;k++){ __m512i w=_mm512_cvtepi8_epi32(_mm_load_si128((__m128i*)(buf+(j*Acc+k)*16))); a[k]=_mm512_fmadd_ps(_mm512_cvtepi32_ps(w),x,a[k]); })
  RUN("int8 quad shifts+cvt", for(int k=0;k<Acc;k+=4){ __m512i w=_mm512_load_si512((__m512i*)(buf+(j*Acc+k)*16));
      a[k]=_mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(w,24),24)),x,a[k]);
      a[k+1]=_mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(w,16),24)),x,a[k+1]);
      a[k+2]=_mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(w,8),24)),x,a[k+2]);
      a[k+3]=_mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(w,24)),x,a[k+3]); })
  // int8 as (q+128)|0x4B000000 floats minus bias: the sum of x is folded out once per column (not per vector)
  RUN("int8 magic-or quad", for(int k=0;k<Acc;k+=4){ __m512i w=_mm512_load_si512((__m512i*)(buf+(j*Acc+k)*16)); __m512i m=_mm512_set1_epi32(0x4B000000); __m512i lo=_mm512_set1_epi32(0xFF);
      a[k]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(w,lo,m,0xEA)),x,a[k]);
      a[k+1]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_srli_epi32(w,8),lo,m,0xEA)),x,a[k+1]);
      a[k+2]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_srli_epi32(w,16),lo,m,0xEA)),x,a[k+2]);
      a[k+3]=_mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_or_si512(_mm512_srli_epi32(w,24),m)),x,a[k+3]); })
  return 0; }
