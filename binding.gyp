{
  "targets": [
    {
      "target_name": "tcpcensus",
      "sources": [
        "native/binding/init.cc",
        "native/binding/args.cc",
        "native/binding/run.cc",
        "native/binding/convert.cc",
        "native/binding/worker.cc",
        "native/binding/errors.cc",
        "native/common/sys_error.cc",
        "native/common/proc_parse.cc",
        "native/sockets/netlink_parse.cc",
        "native/sockets/sock_diag.cc",
        "native/sockets/bytecode.cc",
        "native/sockets/procnet_parse.cc",
        "native/sockets/procnet.cc",
        "native/sockets/netns.cc",
        "native/sockets/sources.cc",
        "native/sockets/dump_stream.cc",
        "native/cgroups/mounts_parse.cc",
        "native/cgroups/cgroup_paths.cc",
        "native/owners/owners.cc",
        "native/owners/source.cc",
        "native/owners/proc_names.cc",
        "native/owners/proc/proc_walk.cc",
        "native/owners/proc/proc_source.cc",
        "native/owners/bpf/btf.cc",
        "native/owners/bpf/bpf_prog.cc",
        "native/owners/bpf/bpf_iter.cc",
        "native/owners/bpf/bpf_source.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # C++ exceptions are the one error mode: the sampling code throws SysError,
      # workers catch std::exception and turn it into a rejected promise.
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      # cflags reach C and C++ alike, so the warnings and hardening are written
      # once; the optimisation level is node-gyp's (-O3 in Release).
      "cflags": ["-Wall", "-Wextra", "-fstack-protector-strong", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
