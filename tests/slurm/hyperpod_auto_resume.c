/* A SPANK plugin for the test cluster that accepts `srun --auto-resume=N`, the option SageMaker HyperPod's own
 * plugin adds to srun, so that job scripts rendered for --cluster hyperpod-slurm run here as they are. It does
 * not resume anything (HyperPod replaces the faulty node and reruns the step); it hands the value to every task
 * as AWSDT_TEST_AUTO_RESUME, so a test sees that the option reached the ranks. Built by slurm_cluster.sh. */
#include <slurm/spank.h>
#include <stdio.h>
#include <string.h>

SPANK_PLUGIN(hyperpod_auto_resume, 1);

static char auto_resume[16] = "";

static int take_auto_resume(int val, const char* optarg, int remote) {
  (void)val;
  (void)remote;
  if (optarg == NULL || strlen(optarg) >= sizeof(auto_resume)) return -1;
  snprintf(auto_resume, sizeof(auto_resume), "%s", optarg);
  return 0;
}

struct spank_option spank_options[] = {
    {"auto-resume", "N", "HyperPod: rerun the step after a node fault (accepted here, not acted on)", 1, 0,
     take_auto_resume},
    SPANK_OPTIONS_TABLE_END};

int slurm_spank_task_init(spank_t sp, int ac, char** av) {
  (void)ac;
  (void)av;
  if (auto_resume[0] != '\0') spank_setenv(sp, "AWSDT_TEST_AUTO_RESUME", auto_resume, 1);
  return 0;
}
