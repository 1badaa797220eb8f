// test_dump_stream.cc: a dump read in batches (sockets/dump_stream.h) on
// real sockets: 600 listeners of our own on 127.0.0.1 each come out exactly
// once, through netlink (one walk of both families, or one family) and
// procfs, in batches no bigger than asked for plus one datagram's rows;
// maxSockets stops the stream part-way; Close ends it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "../common/sys_error.h"
#include "../sockets/dump_stream.h"
#include "check.h"

using namespace tcpcensus;

namespace {

constexpr size_t kListeners = 600;
constexpr size_t kBatch = 50;
// A netlink datagram carries at most about 32 KiB of records: well under
// 400 rows of ~100 bytes.
constexpr size_t kDatagramRows = 400;

struct Listeners {
  std::vector<int> fds;
  std::map<uint32_t, int> seen;  // inode -> times seen
  Listeners() {
    for (size_t i = 0; i < kListeners; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1) != 0) {
        throw SysError("listen", errno);
      }
      struct stat st {};
      fstat(fd, &st);
      seen[static_cast<uint32_t>(st.st_ino)] = 0;
      fds.push_back(fd);
    }
  }
  ~Listeners() {
    for (int fd : fds) close(fd);
  }
  void Reset() {
    for (auto& [inode, n] : seen) n = 0;
  }
  // Streams req in batches of kBatch; checks batch sizes and that each of
  // ours came once.
  void StreamAll(const DumpRequest& req, DumpInfo* info) {
    Reset();
    DumpStream stream(req);
    SocketTable batch;
    bool more = true;
    size_t total = 0;
    while (more) {
      more = stream.Next(kBatch, &batch);
      CHECK(batch.size() <= (req.source == Source::kProcfs ? kBatch : kBatch + kDatagramRows));
      if (more) CHECK(batch.size() >= kBatch);
      for (size_t i = 0; i < batch.size(); ++i) {
        auto it = seen.find(batch.inode[i]);
        if (it != seen.end()) ++it->second;
      }
      total += batch.size();
    }
    CHECK_EQ(stream.delivered(), total);
    CHECK(total >= kListeners);
    for (const auto& [inode, n] : seen) CHECK_EQ(n, 1);
    // Once ended it stays ended, with nothing in the batch.
    CHECK(!stream.Next(kBatch, &batch));
    CHECK_EQ(batch.size(), size_t{0});
    *info = stream.info();
  }
};

DumpRequest Listening(unsigned families) {
  DumpRequest req;
  req.families = families;
  req.states = 1u << kListen;
  return req;
}

}  // namespace

TEST(dump_stream_batches_hold_every_socket_once) {
  Listeners ours;
  DumpInfo info;
  ours.StreamAll(Listening(kFamilyIPv4 | kFamilyIPv6), &info);
  CHECK(info.source == Source::kNetlink);
  CHECK(info.netns_inode != 0);
  ours.StreamAll(Listening(kFamilyIPv4), &info);
  CHECK(info.source == Source::kNetlink);
  DumpRequest procfs = Listening(kFamilyIPv4 | kFamilyIPv6);
  procfs.source = Source::kProcfs;
  ours.StreamAll(procfs, &info);
  CHECK(info.source == Source::kProcfs);
  CHECK((info.missing & kMissingListenBacklog) != 0);
}

TEST(dump_stream_max_rows_stops_part_way_and_close_ends_it) {
  Listeners ours;
  DumpRequest req = Listening(kFamilyIPv4);
  req.max_rows = 120;
  DumpStream stream(req);
  SocketTable batch;
  size_t got = 0;
  bool limited = false;
  try {
    while (stream.Next(kBatch, &batch)) got += batch.size();
  } catch (const LimitError&) {
    limited = true;
  }
  CHECK(limited);
  CHECK(got <= 120);
  CHECK(!stream.Next(kBatch, &batch));  // ended by the throw
  DumpStream early(Listening(kFamilyIPv4));
  CHECK(early.Next(kBatch, &batch));
  early.Close();
  CHECK(!early.Next(kBatch, &batch));
  CHECK_EQ(batch.size(), size_t{0});
}
