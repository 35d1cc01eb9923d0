// The cache back ends against one behaviour: memory, SQLite (a temporary file) and Redis (a real
// redis-server started on a free loopback port; skipped with a message when it is not installed).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <fstream>
#include <thread>

#include "cache/cache_key.h"
#include "cache/memory_store.h"
#include "cache/open_store.h"
#include "cache/redis_store.h"
#include "cache/semantic_index.h"
#include "cache/sqlite_store.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace rs::cache;

namespace {

// One directory per test process, removed when the process exits (the stores of a test are
// closed by then).
fs::path temp_dir() {
  struct Dir {
    fs::path path = fs::temp_directory_path() / fmt::format("rs_cache_test_{}", getpid());
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

Entry entry(const std::string& name, const Scope& scope, Embedding emb = {}, int64_t expires = 0) {
  Entry e;
  e.key = sha256_hex(name);
  e.scope = scope;
  e.value = "answer of " + name;
  e.embedding = std::move(emb);
  e.expires_ms = expires;
  return e;
}

Embedding vec(std::vector<uint32_t> idx, std::vector<float> val) {
  return make_embedding(std::move(idx), std::move(val));
}

// A redis-server child process on a free port, for as long as the object lives.
class RedisServer {
 public:
  RedisServer() {
    if (std::system("command -v redis-server >/dev/null 2>&1") != 0) return;
    for (int attempt = 0; attempt < 20 && pid_ <= 0; ++attempt) {
      port_ = 20000 + static_cast<int>((getpid() * 7 + attempt * 131) % 30000);
      const pid_t pid = fork();
      if (pid == 0) {
        const std::string port = std::to_string(port_);
        execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--loglevel", "warning", nullptr);
        _exit(127);
      }
      for (int i = 0; i < 100; ++i) {  // up to 5 s for it to answer
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) break;  // exited: port taken, try another
        try {
          RedisStore probe(url(), "probe:");
          pid_ = pid;
          break;
        } catch (const rs::Error&) {
        }
      }
      if (pid_ <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool running() const { return pid_ > 0; }
  std::string url() const { return fmt::format("redis://127.0.0.1:{}/0", port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

RedisServer& redis() {
  static RedisServer server;
  return server;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Store> open(Limits limits = {}) {
    StoreConfig c;
    c.backend = GetParam();
    c.limits = limits;
    c.path = (temp_dir() / fmt::format("{}.db", ++counter_)).string();
    if (GetParam() == "redis") {
      if (!redis().running()) return nullptr;
      c.redis_url = redis().url();
      c.redis_prefix = fmt::format("t{}:{}:", getpid(), ++counter_);
    }
    return open_store(c);
  }
  void SetUp() override {
    if (GetParam() == "redis" && !redis().running())
      GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server)";
  }
  static inline int counter_ = 0;
};

const Scope kA{"billing", "acme", "ctx1"};
const Scope kB{"billing", "globex", "ctx1"};

TEST_P(StoreTest, PutGetAndMiss) {
  auto s = open();
  s->put(entry("q1", kA));
  const auto e = s->get(sha256_hex("q1"), unix_ms());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->value, "answer of q1");
  EXPECT_EQ(e->scope, kA);
  EXPECT_FALSE(s->get(sha256_hex("q2"), unix_ms()));
  s->put(entry("q1", kA));  // replacing keeps one entry
  if (GetParam() != "redis") {
    EXPECT_EQ(s->stats().entries, 1);
  }
}

TEST_P(StoreTest, ExpiredEntriesAreMisses) {
  auto s = open();
  const int64_t now = unix_ms();
  s->put(entry("old", kA, vec({1}, {1}), now + 200));
  EXPECT_TRUE(s->get(sha256_hex("old"), now));
  // Redis expires by its own clock: wait past the TTL.
  if (GetParam() == "redis") std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_FALSE(s->get(sha256_hex("old"), now + 1000));
  EXPECT_FALSE(s->nearest(kA, vec({1}, {1}), 0.5f, now + 1000));
}

TEST_P(StoreTest, SemanticNearestStaysInItsScope) {
  auto s = open();
  s->put(entry("refund", kA, vec({1, 2, 3}, {1, 1, 0})));
  s->put(entry("card", kA, vec({4, 5}, {1, 1})));
  const Embedding q = vec({1, 2, 3}, {1, 1, 0.2f});
  const auto m = s->nearest(kA, q, 0.9f, unix_ms());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry.value, "answer of refund");
  EXPECT_GT(m->similarity, 0.9f);
  EXPECT_LE(m->similarity, 1.0001f);
  EXPECT_FALSE(s->nearest(kB, q, 0.1f, unix_ms())) << "another tenant";
  EXPECT_FALSE(s->nearest({"billing", "acme", "ctx2"}, q, 0.1f, unix_ms())) << "another context";
  EXPECT_FALSE(s->nearest(kA, vec({7}, {1}), 0.1f, unix_ms())) << "nothing similar";
  EXPECT_FALSE(s->nearest(kA, q, 0.999f, unix_ms())) << "above the threshold";
}

TEST_P(StoreTest, InvalidateByRouteTenantAndKey) {
  auto s = open();
  s->put(entry("a1", kA, vec({1}, {1})));
  s->put(entry("a2", kA));
  s->put(entry("b1", kB));
  s->put(entry("c1", {"faq", "acme", "x"}));
  EXPECT_EQ(s->invalidate({"", "", sha256_hex("a2")}), 1);
  EXPECT_FALSE(s->get(sha256_hex("a2"), unix_ms()));
  EXPECT_EQ(s->invalidate({"", "globex", ""}), 1);
  EXPECT_FALSE(s->get(sha256_hex("b1"), unix_ms()));
  EXPECT_TRUE(s->get(sha256_hex("a1"), unix_ms()));
  EXPECT_EQ(s->invalidate({"billing", "", ""}), 1);
  EXPECT_FALSE(s->get(sha256_hex("a1"), unix_ms()));
  EXPECT_FALSE(s->nearest(kA, vec({1}, {1}), 0.5f, unix_ms()));
  EXPECT_TRUE(s->get(sha256_hex("c1"), unix_ms()));
  EXPECT_EQ(s->invalidate({"nope", "", ""}), 0);
}

TEST_P(StoreTest, LruBoundsEntriesAndBytes) {
  if (GetParam() == "redis") GTEST_SKIP() << "Redis bounds memory itself (maxmemory)";
  auto s = open({10, 1 << 20});
  for (int i = 0; i < 10; ++i) s->put(entry(fmt::format("q{}", i), kA));
  EXPECT_TRUE(s->get(sha256_hex("q0"), unix_ms()));  // used: survives the next eviction
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 10; i < 14; ++i) s->put(entry(fmt::format("q{}", i), kA));
  EXPECT_LE(s->stats().entries, 10);
  EXPECT_GT(s->stats().evictions, 0);
  EXPECT_TRUE(s->get(sha256_hex("q13"), unix_ms()));
  if (GetParam() == "memory") {  // SQLite refreshes last use at most every 10 s
    EXPECT_TRUE(s->get(sha256_hex("q0"), unix_ms()));
    EXPECT_FALSE(s->get(sha256_hex("q1"), unix_ms()));
  }
  auto small = open({1000, 2000});
  for (int i = 0; i < 50; ++i) small->put(entry(fmt::format("b{}", i), kA));
  EXPECT_LE(small->stats().bytes, 2000);
  EXPECT_TRUE(small->get(sha256_hex("b49"), unix_ms()));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("memory", "sqlite", "redis"),
                         [](const auto& p) { return p.param; });

TEST(SqliteStore, SurvivesReopenWithItsSemanticIndex) {
  const std::string path = (temp_dir() / "persist.db").string();
  fs::remove(path);
  {
    SqliteStore s(path, {});
    s.put(entry("refund", kA, vec({1, 2}, {1, 1})));
    s.put(entry("exact", kB));
  }
  SqliteStore s(path, {});
  EXPECT_TRUE(s.get(sha256_hex("exact"), unix_ms()));
  const auto m = s.nearest(kA, vec({1, 2}, {1, 0.9f}), 0.9f, unix_ms());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry.value, "answer of refund");
  EXPECT_EQ(s.stats().entries, 2);
}

TEST(SqliteStore, RejectsFilesThatAreNotCaches) {
  const fs::path dir = temp_dir();
  { std::ofstream(dir / "garbage.db") << std::string(8192, 'x'); }
  try {
    SqliteStore s((dir / "garbage.db").string(), {});
    FAIL() << "opened a garbage file";
  } catch (const rs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("garbage.db"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SqliteStore("/nonexistent-folder/x/cache.db", {}), rs::Error);
}

TEST(SemanticIndex, FindsTheBestAfterRemovalsAndCompaction) {
  SemanticIndex idx;
  for (uint32_t i = 0; i < 100; ++i)  // entry i: features {i, i+1}
    idx.add(fmt::format("k{}", i), kA, vec({i, i + 1}, {1, 1}), 0);
  idx.add("other-tenant", kB, vec({5, 6}, {1, 1}), 0);
  auto best = idx.search(kA, vec({5, 6}, {1, 1}), 0.4f, 0, 1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].first, "k5");
  EXPECT_NEAR(best[0].second, 1.0f, 1e-5);
  EXPECT_EQ(idx.search(kA, vec({5, 6}, {1, 1}), 0.4f, 0).size(), 3u);  // k4, k5, k6 share one
  for (uint32_t i = 0; i < 80; ++i)
    if (i != 70) idx.remove(fmt::format("k{}", i));  // compacts on the way
  EXPECT_EQ(idx.size(), 22u);
  EXPECT_TRUE(idx.search(kA, vec({5, 6}, {1, 1}), 0.4f, 0).empty());
  best = idx.search(kA, vec({70, 71}, {1, 1}), 0.9f, 0);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].first, "k70");
  idx.add("k70", kA, vec({200}, {1}), 0);  // replacing moves it
  EXPECT_TRUE(idx.search(kA, vec({70, 71}, {1, 1}), 0.9f, 0).empty());
  EXPECT_EQ(idx.search(kA, vec({200}, {1}), 0.9f, 0).at(0).first, "k70");
  EXPECT_EQ(idx.search(kB, vec({5, 6}, {1, 1}), 0.9f, 0).at(0).first, "other-tenant");
  EXPECT_TRUE(idx.search(kA, vec({99, 100}, {1, 1}), 0.9f, 0, 0).empty());  // limit 0
}

TEST(Embedding, NormalisesEncodesAndCompares) {
  const Embedding a = make_embedding({3, 1, 1}, {4, 1.5f, 1.5f});  // duplicates summed: (1:3, 3:4)
  ASSERT_EQ(a.index, (std::vector<uint32_t>{1, 3}));
  EXPECT_FLOAT_EQ(a.value[0], 0.6f);
  EXPECT_FLOAT_EQ(a.value[1], 0.8f);
  EXPECT_NEAR(similarity(a, a), 1.0f, 1e-6);
  const Embedding b = decode_embedding(encode(a));
  EXPECT_EQ(b.index, a.index);
  EXPECT_EQ(b.value, a.value);
  EXPECT_TRUE(make_embedding({1}, {0}).empty());
  EXPECT_EQ(similarity(a, {}), 0.0f);
  EXPECT_THROW(decode_embedding("abc"), rs::Error);
  std::string bad = encode(a);
  bad.resize(bad.size() - 1);
  EXPECT_THROW(decode_embedding(bad), rs::Error);
  const float d[3] = {0, 3, 4};
  EXPECT_EQ(make_dense_embedding(d, 3).index, (std::vector<uint32_t>{1, 2}));
}

TEST(CacheKey, HashesAndNormalises) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(normalize_text("  Hi \t there\n\n"), "Hi there");
  EXPECT_EQ(normalize_text("Hi there"), "Hi there");
  EXPECT_EQ(normalize_text(""), "");
}

TEST(RedisUrl, ParsesAndRejects) {
  const RedisAddress a = parse_redis_url("redis://:pw@10.0.0.2:6380/3");
  EXPECT_EQ(a.host, "10.0.0.2");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(parse_redis_url("unix:///run/redis.sock").unix_socket, "/run/redis.sock");
  EXPECT_EQ(parse_redis_url("redis://localhost").port, 6379);
  EXPECT_THROW(parse_redis_url("http://localhost"), rs::Error);
  EXPECT_THROW(parse_redis_url("redis://host:99999"), rs::Error);
  EXPECT_THROW(RedisStore("redis://127.0.0.1:1/0", "x:"), rs::Error);  // nothing listens
}

}  // namespace
