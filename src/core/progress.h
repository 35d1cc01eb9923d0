// A progress bar with rate and ETA on stderr, for work that takes longer than a second
// (quantizing, writing a model, evaluating a data set).
//
// On a terminal it redraws one line ("[=====>    ]  52%  61.3/118.0 MiB  12.1 MiB/s  ETA 4s blk.7")
// at most 10 times a second; when stderr is not a terminal (logs, CI, tests) it stays silent
// except for the final line from finish(), so logs are not flooded with carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rs {

class ProgressBar {
 public:
  // `total` in `unit`s; unit "MiB" shows byte counts as MiB (pass bytes), anything else is shown
  // as plain counts. enabled=false silences it completely.
  ProgressBar(std::string label, uint64_t total, std::string unit = "MiB", bool enabled = true);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets the amount done so far and an optional short note (e.g. the current tensor's name).
  void update(uint64_t done, const std::string& note = "");
  // Draws the final state and a newline. Without it (the work failed) the destructor only ends
  // a half-drawn line.
  void finish();

  // "3s", "2m05s", "1h02m".
  static std::string format_duration(double seconds);

 private:
  void draw(bool final);

  std::string label_, unit_, note_;
  uint64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace rs
