#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rs {

ProgressBar::ProgressBar(std::string label, uint64_t total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  // Destroyed without finish(): the work failed (an exception is on its way to the user), so only
  // end the half-drawn line; the error message is the one line that matters.
  if (!finished_ && enabled_ && tty_ && drawn_) std::fputc('\n', stderr);
}

std::string ProgressBar::format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const auto t = static_cast<uint64_t>(s + 0.5);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
}

void ProgressBar::update(uint64_t done, const std::string& note) {
  done_ = std::min(done, total_);
  note_ = note;
  if (!enabled_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw(true);
}

void ProgressBar::draw(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const bool mib = unit_ == "MiB";
  const double scale = mib ? 1.0 / 1048576.0 : 1.0;
  const double rate = elapsed > 0 ? static_cast<double>(done_) * scale / elapsed : 0;
  std::string amount = mib ? fmt::format("{:.1f}/{:.1f} MiB", done_ * scale, total_ * scale)
                           : fmt::format("{}/{} {}", done_, total_, unit_);
  std::string line;
  if (final) {
    line = fmt::format("{}: {} in {} ({:.1f} {}/s)", label_, amount, format_duration(elapsed), rate,
                       unit_);
  } else {
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(kWidth), ' ');
    for (int i = 0; i < fill; ++i) bar[static_cast<size_t>(i)] = '=';
    if (fill < kWidth) bar[static_cast<size_t>(fill)] = '>';
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : -1;
    line = fmt::format("{} [{}] {:3.0f}%  {}  {:.1f} {}/s  ETA {}  {}", label_, bar, frac * 100,
                       amount, rate, unit_, format_duration(eta), note_.substr(0, 32));
  }
  drawn_ = true;
  // \r + clear-to-end-of-line on a terminal; a plain line otherwise.
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else if (final)
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace rs
