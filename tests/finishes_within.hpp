// finishes_within: runs a test body on its own thread and fails the test, naming the case, if it
// has not returned by the deadline. A hung model cannot be cancelled, so the process then ends
// at once (exit status 1) instead of hanging CTest until its own timeout.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>

namespace cmbench::test_support {

inline void finishes_within(std::chrono::seconds limit, const std::string& what,
                            std::function<void()> body) {
  std::packaged_task<void()> task(std::move(body));
  std::future<void> done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "HUNG: %s did not finish within %lld s\n", what.c_str(),
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);
  }
  runner.join();
  done.get();  // rethrows the body's exception, if any
}

}  // namespace cmbench::test_support
