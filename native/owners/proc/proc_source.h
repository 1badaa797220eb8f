// proc_source.h: the /proc/<pid>/fd walk (proc_walk.h) as an OwnerSource
// named "proc" (source.h).
#pragma once

#include <memory>

#include "../source.h"

namespace tcpcensus {

std::unique_ptr<OwnerSource> MakeProcOwnerSource();

}  // namespace tcpcensus
