#include "tools/ccctl/progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace contactcentre::ccctl {

std::string ProgressBar(int64_t done, int64_t total, int64_t failed, int width) {
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(fraction * width + 1e-9);
  std::string bar =
      absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '-'), "]");
  absl::StrAppendFormat(&bar, " %3d%%  %d/%d rows", static_cast<int>(fraction * 100 + 1e-9), done,
                        total);
  if (failed > 0) absl::StrAppendFormat(&bar, ", %d failed", failed);
  return bar;
}

Progress::Progress(std::FILE* out, bool tty, int64_t total, absl::string_view what,
                   absl::Duration plain_interval)
    : out_(out), tty_(tty), total_(total), what_(what), plain_interval_(plain_interval) {}

void Progress::Update(int64_t done, int64_t failed) {
  absl::MutexLock lock(&mutex_);
  done_ = done;
  failed_ = failed;
  DrawLocked(false);
}

void Progress::Message(absl::string_view line) {
  absl::MutexLock lock(&mutex_);
  if (tty_ && bar_shown_) std::fputs("\r\033[K", out_);
  std::fprintf(out_, "%.*s\n", static_cast<int>(line.size()), line.data());
  bar_shown_ = false;
  if (tty_) DrawLocked(true);
  std::fflush(out_);
}

void Progress::Finish() {
  absl::MutexLock lock(&mutex_);
  DrawLocked(true);
  if (tty_) std::fputs("\n", out_);
  std::fflush(out_);
}

void Progress::DrawLocked(bool force) {
  const absl::Time now = absl::Now();
  if (tty_) {
    if (!force && now - last_draw_ < absl::Milliseconds(100)) return;
    std::fprintf(out_, "\r\033[K%s %s", what_.c_str(),
                 ProgressBar(done_, total_, failed_, 30).c_str());
    bar_shown_ = true;
  } else {
    if (!force && now - last_draw_ < plain_interval_) return;
    if (done_ == printed_done_ && failed_ == printed_failed_) return;
    printed_done_ = done_;
    printed_failed_ = failed_;
    std::fprintf(out_, "%s: %lld/%lld rows, %lld failed\n", what_.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_),
                 static_cast<long long>(failed_));
  }
  last_draw_ = now;
  std::fflush(out_);
}

}  // namespace contactcentre::ccctl
