// Errors: every failure the user can cause (bad file, bad flag, bad input) is an rs::Error with a
// one-line message that says what is wrong and, where possible, what to do.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace rs {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

#define RS_CHECK(cond, ...)                 \
  do {                                      \
    if (!(cond)) ::rs::fail(__VA_ARGS__);   \
  } while (0)

}  // namespace rs
