// bounded_queue: a blocking FIFO of fixed capacity between threads, with close().
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace cmbench::threads_model {

// A ring buffer under one mutex, with a condition variable per side. Two habits keep it cheap:
//  - waiters count themselves under the mutex, so push and pop signal only when somebody waits
//    (a pipeline's stages mostly find room and items without waiting);
//  - the signal goes out after the mutex is released, so the woken thread does not wake up only
//    to block on the mutex its waker still holds.
// Signalling after the unlock means a waker may touch the queue after the waiter has returned:
// destroy the queue only once every thread using it has been joined.
template <class T>
class bounded_queue {
 public:
  explicit bounded_queue(std::size_t capacity) : slots_(capacity) {
    if (capacity == 0) throw std::invalid_argument("bounded_queue: capacity must be at least 1");
  }
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  // Blocks while the queue is full. Returns false, dropping the value, if it is closed.
  bool push(T value) {
    bool wake;
    {
      std::unique_lock lk(mutex_);
      while (size_ == slots_.size() && !closed_) {
        ++waiting_pushers_;
        not_full_.wait(lk);
        --waiting_pushers_;
      }
      if (closed_) return false;
      std::size_t tail = head_ + size_;
      if (tail >= slots_.size()) tail -= slots_.size();
      slots_[tail] = std::move(value);
      ++size_;
      wake = waiting_poppers_ != 0;
    }
    if (wake) not_empty_.notify_one();
    return true;
  }

  // Blocks while the queue is empty and open. Returns nothing once it is closed and drained.
  std::optional<T> pop() {
    std::optional<T> out;
    bool wake;
    {
      std::unique_lock lk(mutex_);
      while (size_ == 0 && !closed_) {
        ++waiting_poppers_;
        not_empty_.wait(lk);
        --waiting_poppers_;
      }
      if (size_ == 0) return std::nullopt;
      out.emplace(std::move(slots_[head_]));
      if (++head_ == slots_.size()) head_ = 0;
      --size_;
      wake = waiting_pushers_ != 0;
    }
    if (wake) not_full_.notify_one();
    return out;
  }

  // Later pushes fail; pops drain what is left, then return nothing. Wakes every waiter.
  void close() {
    {
      std::lock_guard lk(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::vector<T> slots_;  // guarded by mutex_, as is every field below
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  unsigned waiting_pushers_ = 0;
  unsigned waiting_poppers_ = 0;
  bool closed_ = false;
};

}  // namespace cmbench::threads_model
