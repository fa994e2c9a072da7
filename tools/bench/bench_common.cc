// Google Benchmark micro-benchmarks of the shared library's in-process code, each next to a
// baseline that does the least the same job needs.
//   build/tools/bench/cc-bench-common --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "common/event_stream.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/phone.h"

namespace contactcentre::common {
namespace {

// Baseline for NewId: the 128 random bits alone.
void BM_Baseline_Random128(benchmark::State& state) {
  absl::BitGen random;
  for (auto _ : state) {
    benchmark::DoNotOptimize(absl::Uniform<uint64_t>(random));
    benchmark::DoNotOptimize(absl::Uniform<uint64_t>(random));
  }
}
BENCHMARK(BM_Baseline_Random128);

void BM_NewId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NewId());
}
BENCHMARK(BM_NewId);
BENCHMARK(BM_NewId)->Threads(2);

// Baseline for a log line: formatting the same text without JSON escaping or fields.
void BM_Baseline_StrFormatLine(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(absl::StrFormat("%s %s %s %s %d\n", "2026-11-28T01:02:03.456Z", "info",
                                             "call queued", "calls/0193", 3));
  }
}
BENCHMARK(BM_Baseline_StrFormatLine);

void BM_FormatLogLine(benchmark::State& state) {
  const absl::Time now = absl::Now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(FormatLogLine(now, LogLevel::kInfo, "calls", "req-1", "call queued",
                                           {{"call", "calls/0193"}, {"position", 3}}));
  }
}
BENCHMARK(BM_FormatLogLine);

// Baseline for preparing an event: serializing the same payload alone.
void BM_Baseline_SerializePayload(benchmark::State& state) {
  events::v1::Event event;
  event.mutable_call_queued()->mutable_call()->set_call(
      "calls/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b");
  for (auto _ : state) benchmark::DoNotOptimize(event.SerializeAsString());
}
BENCHMARK(BM_Baseline_SerializePayload);

void BM_EventPrepare(benchmark::State& state) {
  EventPublisher publisher(nullptr, {.site = "msk", .producer = "services/calls"});
  for (auto _ : state) {
    events::v1::Event event;
    event.mutable_call_queued()->mutable_call()->set_call(
        "calls/0193b7a2-5c1e-7d3f-8a4b-1c2d3e4f5a6b");
    benchmark::DoNotOptimize(publisher.Prepare(event));
  }
}
BENCHMARK(BM_EventPrepare);

// Baseline for phone normalisation: collecting the digits alone.
void BM_Baseline_PhoneDigits(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(PhoneDigits("8 (495) 123-45-67"));
}
BENCHMARK(BM_Baseline_PhoneDigits);

void BM_NormalizePhone(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NormalizePhone("8 (495) 123-45-67", "RU", "p"));
}
BENCHMARK(BM_NormalizePhone);

}  // namespace
}  // namespace contactcentre::common

BENCHMARK_MAIN();
