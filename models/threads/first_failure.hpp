// first_failure: the first thread-creation error among many threads, reported once all joined.
#pragma once

#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

namespace cmbench::threads_model {

// A thread that cannot start its child carries on without it (so every started thread is still
// joined); the run then fails with the first error instead of returning a short count.
class first_failure {
 public:
  void record(const std::system_error& e) {
    std::lock_guard lk(mutex_);
    if (what_.empty()) what_ = e.what();
  }
  // Call after every thread has been joined.
  void throw_if_any() const {
    if (!what_.empty()) throw std::runtime_error("could not create a thread: " + what_);
  }

 private:
  std::mutex mutex_;
  std::string what_;
};

}  // namespace cmbench::threads_model
