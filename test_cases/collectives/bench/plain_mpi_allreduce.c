/* The reference for awsdt-collectives' speed: the plainest MPI_Allreduce timing loop (float sum, out of place),
 * timed as nccl-tests times (warm-up, back-to-back iterations, time per iteration averaged over ranks).
 * Usage: plain_mpi_allreduce BYTES ITERS WARMUP [single|multiple]  -> prints "bytes time_us busbw_GBps" on rank 0.
 * The thread level defaults to single (plain MPI_Init); "multiple" is the level awsdt's stream threads need. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  int multiple = argc == 5 && strcmp(argv[4], "multiple") == 0, provided = 0;
  MPI_Init_thread(&argc, &argv, multiple ? MPI_THREAD_MULTIPLE : MPI_THREAD_SINGLE, &provided);
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s BYTES ITERS WARMUP [single|multiple]\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long bytes = atol(argv[1]);
  int iters = atoi(argv[2]), warmup = atoi(argv[3]), rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int count = (int)(bytes / (long)sizeof(float));
  float* send = malloc((size_t)count * sizeof(float) + 64);
  float* recv = malloc((size_t)count * sizeof(float) + 64);
  for (int i = 0; i < count; ++i) send[i] = (float)(i % 4);
  for (int i = 0; i < warmup; ++i) MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < iters; ++i) MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double us = (MPI_Wtime() - t0) * 1e6 / iters, sum = 0;
  MPI_Allreduce(&us, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  double mean = sum / size;
  double busbw = (double)count * sizeof(float) / 1e3 / mean * 2.0 * (size - 1) / size;
  if (rank == 0) printf("%ld %.3f %.4f\n", (long)count * (long)sizeof(float), mean, busbw);
  free(send);
  free(recv);
  MPI_Finalize();
  return 0;
}
