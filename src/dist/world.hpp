// The processes a `save` command runs as: one (a plain `save ...`), or
// several started by `mpirun -np N` / `srun` (docs/DISTRIBUTED.md), which
// then share a campaign (eval/shard.hpp). MPI is optional at build time:
// without it a plain run works as always and a run under mpirun with more
// than one rank is refused with a clear message.
#pragma once

#include <exception>

#include "eval/shard.hpp"

namespace save::dist {

// This process's shard when it is one of several ranks; null when it runs
// alone (not started by a launcher, or started as a single rank). The
// first call initialises MPI when a launcher started the process.
eval::Shard* world();

// Prints `what` as the command's error and returns the exit code (1).
// Under mpirun, an error every rank shares (the leader's, from
// leader_first) is printed once, by rank 0, and the ranks exit together;
// one only this rank saw stops the whole job (MPI_Abort), since the other
// ranks would wait on this one forever.
int exit_with_error(const std::exception& e);

// Ends MPI before a normal exit (no-op when it was not initialised).
void finalize();

}  // namespace save::dist
