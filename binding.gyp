{
  "targets": [
    {
      "target_name": "tcpcensus",
      "sources": [
        "native/binding.cc",
        "native/sock_diag.cc",
        "native/proc_owners.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # C++ exceptions are the one error mode: the sampling code throws SysError,
      # workers catch std::exception and turn it into a rejected promise.
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["-Wall", "-Wextra", "-fstack-protector-strong", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-fstack-protector-strong", "-fvisibility=hidden", "-O2"],
      "ldflags": ["-pthread"]
    }
  ]
}
