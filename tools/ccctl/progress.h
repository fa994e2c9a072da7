// Progress of a long ccctl operation on stderr: a redrawn bar on a terminal, a plain line every
// few seconds otherwise (logs, pipes, CI).
#pragma once

#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace contactcentre::ccctl {

// "[##########----------]  50%  500/1000 rows, 2 failed"
std::string ProgressBar(int64_t done, int64_t total, int64_t failed, int width);

class Progress {
 public:
  // `out` is usually stderr; `tty` says whether to redraw (isatty of `out`).
  Progress(std::FILE* out, bool tty, int64_t total, absl::string_view what,
           absl::Duration plain_interval = absl::Seconds(3));

  // Records progress; redraws (at most ~10 times a second) or prints a plain line when
  // `plain_interval` has passed since the last one. Thread-safe.
  void Update(int64_t done, int64_t failed);
  // Prints a line (e.g. "line 7: ...") without mangling the bar.
  void Message(absl::string_view line);
  // Prints the final state and ends the bar's line.
  void Finish();

 private:
  void DrawLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::FILE* const out_;
  const bool tty_;
  const int64_t total_;
  const std::string what_;
  const absl::Duration plain_interval_;
  absl::Mutex mutex_;
  int64_t done_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time last_draw_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  bool bar_shown_ ABSL_GUARDED_BY(mutex_) = false;
  // What the last plain line said (no line repeats it at Finish).
  int64_t printed_done_ ABSL_GUARDED_BY(mutex_) = -1;
  int64_t printed_failed_ ABSL_GUARDED_BY(mutex_) = -1;
};

}  // namespace contactcentre::ccctl
