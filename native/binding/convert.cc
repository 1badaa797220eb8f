// convert.cc: results to JS (convert.h).
#include "convert.h"

#include <new>

namespace tcpcensus {
namespace binding {

namespace {

// Marks our buffers, so release() frees only what it adopted.
constexpr napi_type_tag kAdoptedTag = {0x7463706365727375ULL, 0x6164f9b0e1a5c3d2ULL};

void FreeAdopted(napi_env env, Adopted* a) {
  if (!a->live) return;
  a->live = false;
  a->free(a->vector);
  int64_t ignored;
  napi_adjust_external_memory(env, -a->bytes, &ignored);
}

}  // namespace

void FinalizeAdopted(napi_env env, void*, void* hint) {
  auto* a = static_cast<Adopted*>(hint);
  FreeAdopted(env, a);
  delete a;
}

void TrackAdopted(napi_env env, napi_value buffer, Adopted* a) {
  // V8 does not see external memory: without this it would collect these
  // buffers late, letting RSS float by tens of MB between collections.
  int64_t ignored;
  napi_adjust_external_memory(env, a->bytes, &ignored);
  // The buffer carries its control block for release(), tagged as ours; if
  // either step fails, release() skips it and the finalizer alone frees it.
  if (napi_type_tag_object(env, buffer, &kAdoptedTag) == napi_ok) napi_wrap(env, buffer, a, nullptr, nullptr, nullptr);
}

Napi::Value ReleaseBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "release expects an array of ArrayBuffers");
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t freed = 0;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsArrayBuffer()) continue;
    bool ours = false;
    if (napi_check_object_type_tag(env, v, &kAdoptedTag, &ours) != napi_ok || !ours) continue;
    // Detached already: released before (its control block may be gone with
    // the finalizer Node then schedules), or transferred (structuredClone,
    // postMessage), when another buffer now holds the memory. Only an
    // attached buffer of ours still holds its memory and its control block.
    bool detached = true;
    if (napi_is_detached_arraybuffer(env, v, &detached) != napi_ok || detached) continue;
    void* data = nullptr;
    size_t length = 0;
    void* p = nullptr;
    if (napi_get_arraybuffer_info(env, v, &data, &length) != napi_ok || napi_unwrap(env, v, &p) != napi_ok ||
        p == nullptr)
      continue;
    auto* a = static_cast<Adopted*>(p);
    if (!a->live || a->data != data) continue;
    if (napi_detach_arraybuffer(env, v) != napi_ok) continue;
    napi_remove_wrap(env, v, nullptr);  // the control block is the finalizer's to delete
    FreeAdopted(env, a);
    freed++;
  }
  return Napi::Number::New(env, freed);
}

namespace {

// How a dump was answered: source, sourceFallback, netnsInode, missing.
void SetDumpInfo(Napi::Env env, Napi::Object o, const DumpInfo& info) {
  o.Set("source", info.source == Source::kProcfs ? "procfs" : "netlink");
  o.Set("sourceFallback", info.fallback.empty() ? env.Null() : Napi::String::New(env, info.fallback));
  o.Set("netnsInode", static_cast<double>(info.netns_inode));
  static const struct {
    unsigned bit;
    const char* name;
  } kMissing[] = {{kMissingBoundInactive, "boundInactive"},
                  {kMissingCgroupId, "cgroupId"},
                  {kMissingCookie, "cookie"},
                  {kMissingIfindex, "ifindex"},
                  {kMissingListenBacklog, "listenBacklog"}};
  Napi::Array missing = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& m : kMissing) {
    if (info.missing & m.bit) missing[n++] = m.name;
  }
  o.Set("missing", missing);
}

// A per-state count (indexed by state number) as a Float64Array.
Napi::Float64Array SlotsToJs(Napi::Env env, const uint64_t (&slots)[kStateSlots]) {
  auto a = Napi::Float64Array::New(env, kStateSlots);
  for (size_t i = 0; i < kStateSlots; ++i) a[i] = static_cast<double>(slots[i]);
  return a;
}

Napi::Object OwnersToJs(Napi::Env env, OwnerResult& w, Ownership how) {
  Napi::Object owners = Napi::Object::New(env);
  owners.Set("owner", ToTypedArray(env, std::move(w.owner), how));
  Napi::Array procs = Napi::Array::New(env, w.processes.size());
  for (size_t i = 0; i < w.processes.size(); ++i) {
    const ProcessInfo& p = w.processes[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("pid", p.pid);
    po.Set("comm", p.comm);
    po.Set("cmdline", p.cmdline);
    po.Set("sockets", static_cast<double>(p.sockets));
    po.Set("startTime", static_cast<double>(p.start_time));
    po.Set("fds", static_cast<double>(p.fds));
    procs[i] = po;
  }
  owners.Set("processes", procs);
  auto failed_pids = Napi::Int32Array::New(env, w.failures.size());
  auto failed_errnos = Napi::Int32Array::New(env, w.failures.size());
  Napi::Array failed_calls = Napi::Array::New(env, w.failures.size());
  for (size_t i = 0; i < w.failures.size(); ++i) {
    failed_pids[i] = w.failures[i].pid;
    failed_errnos[i] = w.failures[i].err;
    failed_calls[static_cast<uint32_t>(i)] = Napi::String::New(env, w.failures[i].call);
  }
  owners.Set("failedPids", failed_pids);
  owners.Set("failedErrnos", failed_errnos);
  owners.Set("failedCalls", failed_calls);
  owners.Set("wanted", static_cast<double>(w.wanted));
  owners.Set("found", static_cast<double>(w.found));
  owners.Set("shared", static_cast<double>(w.shared));
  owners.Set("unreadable", static_cast<double>(w.unreadable));
  owners.Set("vanished", static_cast<double>(w.vanished));
  owners.Set("walked", static_cast<double>(w.walked));
  owners.Set("candidates", static_cast<double>(w.candidates));
  owners.Set("complete", w.complete);
  owners.Set("source", w.source);  // the answering source's own name()
  if (w.fallback.empty()) {
    owners.Set("fallback", env.Null());
  } else {
    owners.Set("fallback", w.fallback);
  }
  return owners;
}

}  // namespace

Napi::Value CountsToJs(Napi::Env env, CountResult& r, Ownership) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ipv4", SlotsToJs(env, r.counts.ipv4));
  o.Set("ipv6", SlotsToJs(env, r.counts.ipv6));
  SetDumpInfo(env, o, r.info);
  return o;
}

Napi::Value SampleToJs(Napi::Env env, SampleResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  SocketTable& t = r.table;
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<double>(t.size()));
#define TCPCENSUS_TO_JS(name, type, width, js) o.Set(js, ToTypedArray(env, std::move(t.name), how));
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_TO_JS)
#undef TCPCENSUS_TO_JS
  if (r.has_owners) o.Set("owners", OwnersToJs(env, r.owners, how));
  // Every row the dump saw, kept or not (keepStates), by family and state,
  // and those no process holds.
  Napi::Object tally = Napi::Object::New(env);
  tally.Set("ipv4", SlotsToJs(env, r.tally.counts.ipv4));
  tally.Set("ipv6", SlotsToJs(env, r.tally.counts.ipv6));
  tally.Set("unowned", SlotsToJs(env, r.tally.unowned));
  o.Set("tally", tally);
  SetDumpInfo(env, o, r.info);
  return o;
}

Napi::Value CgroupPathsToJs(Napi::Env env, CgroupPaths& r, Ownership how) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("mount", r.mount);
  Napi::Array paths = Napi::Array::New(env, r.paths.size());
  for (size_t i = 0; i < r.paths.size(); ++i) paths[i] = r.paths[i];
  o.Set("ids", ToTypedArray(env, std::move(r.ids), how));
  o.Set("paths", paths);
  o.Set("unreadable", static_cast<double>(r.unreadable));
  o.Set("complete", r.complete);
  return o;
}

Napi::Value NetnsToJs(Napi::Env env, NetnsList& r, Ownership) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array list = Napi::Array::New(env, r.namespaces.size());
  for (size_t i = 0; i < r.namespaces.size(); ++i) {
    const NetnsEntry& n = r.namespaces[i];
    Napi::Object e = Napi::Object::New(env);
    e.Set("inode", static_cast<double>(n.inode));
    e.Set("path", n.path);
    e.Set("name", n.name);
    e.Set("pid", n.pid);
    e.Set("self", n.self);
    list[i] = e;
  }
  o.Set("namespaces", list);
  o.Set("unreadable", static_cast<double>(r.unreadable));
  return o;
}

Napi::Value FindToJs(Napi::Env env, FindResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  Napi::Object o = OwnersToJs(env, r.owners, how);
  std::vector<int32_t> pids(r.claims.size());
  std::vector<int32_t> fds(r.claims.size());
  std::vector<uint32_t> inodes(r.claims.size());
  for (size_t i = 0; i < r.claims.size(); ++i) {
    pids[i] = r.claims[i].pid;
    fds[i] = r.claims[i].fd;
    inodes[i] = r.claims[i].inode;
  }
  o.Set("claimPids", ToTypedArray(env, std::move(pids), how));
  o.Set("claimFds", ToTypedArray(env, std::move(fds), how));
  o.Set("claimInodes", ToTypedArray(env, std::move(inodes), how));
  return o;
}

Napi::Value StartTimesToJs(Napi::Env env, StartTimesResult& r, Ownership how) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  return ToTypedArray(env, std::move(r.start), how);
}

Napi::Value BatchToJs(Napi::Env env, StreamCursor& c) {
  if (Fires(kFailConvert)) throw std::bad_alloc();
  SocketTable& t = c.batch;
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<double>(t.size()));
#define TCPCENSUS_BATCH_TO_JS(name, type, width, js) o.Set(js, CopyOut(env, t.name));
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_BATCH_TO_JS)
#undef TCPCENSUS_BATCH_TO_JS
  o.Set("done", !c.more);
  SetDumpInfo(env, o, c.stream.info());
  return o;
}

Napi::Value ColumnsToJs(Napi::Env env) {
  Napi::Array cols = Napi::Array::New(env);
  uint32_t i = 0;
#define TCPCENSUS_COLUMN(name, type, width, js)        \
  {                                                    \
    Napi::Object c = Napi::Object::New(env);           \
    c.Set("name", js);                                 \
    c.Set("bytes", static_cast<double>(sizeof(type))); \
    c.Set("width", static_cast<double>(width));        \
    cols[i++] = c;                                     \
  }
  TCPCENSUS_SOCKET_COLUMNS(TCPCENSUS_COLUMN)
#undef TCPCENSUS_COLUMN
  return cols;
}

}  // namespace binding
}  // namespace tcpcensus
