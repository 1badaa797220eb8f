// bpf_source.h: the eBPF task_file iterator (bpf_iter.h) as an OwnerSource
// named "bpf" (source.h).
#pragma once

#include <memory>

#include "../source.h"

namespace tcpcensus {

std::unique_ptr<OwnerSource> MakeBpfOwnerSource();

}  // namespace tcpcensus
