/* The reference for awsdt-megatron's T_gemm: cblas_sgemm alone on a row-major M×N×K product, on one OpenBLAS
 * thread, timed over ITERS runs after WARMUP; prints the mean time per GEMM in microseconds.
 * Usage: plain_sgemm M N K ITERS WARMUP */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: plain_sgemm M N K ITERS WARMUP\n");
    return 2;
  }
  const int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), iters = atoi(argv[4]), warmup = atoi(argv[5]);
  openblas_set_num_threads(1);
  float* a = malloc(sizeof(float) * (size_t)m * k);
  float* b = malloc(sizeof(float) * (size_t)k * n);
  float* c = malloc(sizeof(float) * (size_t)m * n);
  for (size_t i = 0; i < (size_t)m * k; ++i) a[i] = (float)(i % 17) / 8.0f - 1.0f;
  for (size_t i = 0; i < (size_t)k * n; ++i) b[i] = (float)(i % 13) / 8.0f - 0.75f;
  for (int i = 0; i < warmup; ++i)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
  const double t0 = now_us();
  for (int i = 0; i < iters; ++i)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
  printf("%.3f\n", (now_us() - t0) / iters);
  free(a);
  free(b);
  free(c);
  return 0;
}
