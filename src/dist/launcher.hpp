// How many ranks a launcher (mpirun, srun) started, from the environment
// it sets: 0 when the process was not started by one.
#pragma once

#include <cstdlib>
#include <string>

namespace save::dist {

inline int launcher_ranks() {
  // OpenMPI's mpirun, PMI (MPICH, srun --mpi=pmi2), Slurm's srun.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  // srun sets SLURM_PROCID per task (an salloc shell does not).
  if (std::getenv("SLURM_PROCID") && std::getenv("SLURM_NTASKS"))
    return std::atoi(std::getenv("SLURM_NTASKS"));
  if (std::getenv("PMIX_RANK")) return 1;  // PMIx without a size: MPI will tell
  return 0;
}

}  // namespace save::dist
