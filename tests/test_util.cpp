#include "test_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rs::test {

std::filesystem::path shared_dir() {
  const char* env = std::getenv("RIGHTSIZE_SHARED_DIR");
  std::filesystem::path dir = env ? env : "../shared";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir / "oracle", ec)) return {};
  return dir;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rs::test
