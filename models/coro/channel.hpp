// channel<T>: a bounded FIFO between coroutines on the scheduler: co_await send(v),
// co_await receive() (nothing once closed and drained), close().
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "models/coro/scheduler.hpp"
#include "models/coro/spinlock.hpp"

namespace cmbench::coro {

// Written here, like the scheduler, because no coroutine runtime is packaged for our toolchains.
//
// A ring buffer of `capacity` items and two FIFO lists of suspended coroutines, all under one
// spinlock held for a few loads and stores. A sender that finds the buffer full, or a receiver
// that finds it empty (and the channel open), links its awaiter into a list and suspends. The
// awaiter lives in the suspended coroutine's frame, so waiting allocates nothing; the operation
// that releases it completes on its behalf under the lock (a receiver takes the waiting sender's
// value into the buffer, a sender hands its value straight to a waiting receiver), so the woken
// coroutine only has to return.
//
// Waking. The waker posts the woken coroutine to the scheduler (scheduler::post, the injection
// queue) and carries on; it never resumes it on its own stack. Symmetric transfer, which would
// skip that queue, needs a waker that is about to suspend: with a capacity of at least one, an
// operation that wakes somebody (a send into a buffer a receiver waits on, a receive from a full
// buffer a sender waits on) always completes without suspending, and one that suspends has
// nobody to wake. Keeping the woken coroutine back until the waker next suspends would delay it
// for as long as the waker keeps running. The wake-ups are few anyway, since a woken coroutine
// finds a batch of items (or of room) waiting: measured on the pipeline's shape (20000 items,
// 4 stages, 1 or 2 workers), 0.07 wake-ups per item and channel at capacity 16, 0.23 at 4, 0.55
// at 1. (The async generator, whose consumer does suspend while the body runs, uses symmetric
// transfer.)
//
// After the lock is released, a suspended coroutine may be resumed on another worker at once, so
// nothing here touches an awaiter of a coroutine that has been handed to post(). A coroutine must
// await send() and receive() on a scheduler worker; close() may be called from anywhere. T must
// be default-constructible and movable. Destroy a channel only once no coroutine waits on it.
template <class T>
class channel {
  template <class Node>
  struct waiting_list {  // intrusive FIFO through Node::next_
    Node* head = nullptr;
    Node* tail = nullptr;
    void push_back(Node* n) noexcept {
      n->next_ = nullptr;
      (tail ? tail->next_ : head) = n;
      tail = n;
    }
    Node* pop_front() noexcept {
      Node* n = head;
      if (n) {
        head = n->next_;
        if (!head) tail = nullptr;
      }
      return n;
    }
    Node* take_all() noexcept {
      Node* n = head;
      head = tail = nullptr;
      return n;
    }
  };

 public:
  class send_awaiter;
  class receive_awaiter;

  explicit channel(std::size_t capacity) : slots_(capacity) {
    if (capacity == 0) throw std::invalid_argument("coro::channel: capacity must be at least 1");
  }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel() { assert(!senders_.head && !receivers_.head && "a coroutine still waits"); }

  // co_await send(v): true once v is in the channel (waiting while it is full), false if the
  // channel is or gets closed first (v is dropped).
  [[nodiscard]] send_awaiter send(T value) { return send_awaiter(*this, std::move(value)); }
  // co_await receive(): the oldest item (waiting while the channel is empty and open), or nothing
  // once the channel is closed and drained.
  [[nodiscard]] receive_awaiter receive() { return receive_awaiter(*this); }
  // Later sends fail; receivers drain what is left, then get nothing. Wakes every waiter.
  void close();

  std::size_t capacity() const noexcept { return slots_.size(); }

  class send_awaiter {
   public:
    bool await_ready() const noexcept { return false; }
    CMBENCH_CORO_HANDS_OFF bool await_suspend(std::coroutine_handle<> h) {
      return ch_.suspend_sender(*this, h);
    }
    bool await_resume() const noexcept { return sent_; }

   private:
    friend class channel;
    friend struct waiting_list<send_awaiter>;
    send_awaiter(channel& ch, T value) : ch_(ch), value_(std::move(value)) {}
    channel& ch_;
    T value_;
    bool sent_ = false;
    send_awaiter* next_ = nullptr;
    std::coroutine_handle<> h_;
    scheduler* sched_ = nullptr;
  };

  class receive_awaiter {
   public:
    bool await_ready() const noexcept { return false; }
    CMBENCH_CORO_HANDS_OFF bool await_suspend(std::coroutine_handle<> h) {
      return ch_.suspend_receiver(*this, h);
    }
    std::optional<T> await_resume() noexcept(std::is_nothrow_move_constructible_v<T>) {
      return std::move(result_);
    }

   private:
    friend class channel;
    friend struct waiting_list<receive_awaiter>;
    explicit receive_awaiter(channel& ch) : ch_(ch) {}
    channel& ch_;
    std::optional<T> result_;
    receive_awaiter* next_ = nullptr;
    std::coroutine_handle<> h_;
    scheduler* sched_ = nullptr;
  };

 private:
  // Both return whether the coroutine stays suspended; false resumes it at once.
  bool suspend_sender(send_awaiter& a, std::coroutine_handle<> h);
  bool suspend_receiver(receive_awaiter& a, std::coroutine_handle<> h);

  template <class Awaiter>
  static void park(Awaiter& a, std::coroutine_handle<> h) noexcept {
    assert(detail::this_worker && "channel operations are awaited on a scheduler worker");
    a.h_ = h;
    a.sched_ = detail::this_worker->owner;
  }
  // Called without the lock, on an awaiter already taken off its list: from here on it belongs
  // to the coroutine that post() may resume at once.
  template <class Awaiter>
  static void wake(Awaiter* a) {
    scheduler* s = a->sched_;
    const std::coroutine_handle<> h = a->h_;
    s->post(h);
  }

  void push_slot(T&& v) {
    std::size_t tail = head_ + size_;
    if (tail >= slots_.size()) tail -= slots_.size();
    slots_[tail] = std::move(v);
    ++size_;
  }
  T pop_slot() {
    T v = std::move(slots_[head_]);
    if (++head_ == slots_.size()) head_ = 0;
    --size_;
    return v;
  }

  spinlock lock_;
  std::vector<T> slots_;  // guarded by lock_, as is every field below
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
  waiting_list<send_awaiter> senders_;       // only while the buffer is full
  waiting_list<receive_awaiter> receivers_;  // only while the buffer is empty
};

template <class T>
bool channel<T>::suspend_sender(send_awaiter& a, std::coroutine_handle<> h) {
  receive_awaiter* woken = nullptr;
  {
    std::lock_guard lk(lock_);
    if (closed_) return false;
    if ((woken = receivers_.pop_front())) {
      woken->result_.emplace(std::move(a.value_));
    } else if (size_ < slots_.size()) {
      push_slot(std::move(a.value_));
    } else {
      park(a, h);
      senders_.push_back(&a);
      return true;  // `a` is not touched again: once the lock is free a receiver may resume us
    }
    a.sent_ = true;
  }
  if (woken) wake(woken);
  return false;
}

template <class T>
bool channel<T>::suspend_receiver(receive_awaiter& a, std::coroutine_handle<> h) {
  send_awaiter* woken = nullptr;
  {
    std::lock_guard lk(lock_);
    if (size_ != 0) {
      a.result_.emplace(pop_slot());
      if ((woken = senders_.pop_front())) {
        push_slot(std::move(woken->value_));
        woken->sent_ = true;
      }
    } else if (!closed_) {
      park(a, h);
      receivers_.push_back(&a);
      return true;  // as in suspend_sender
    }
  }
  if (woken) wake(woken);
  return false;
}

template <class T>
void channel<T>::close() {
  receive_awaiter* receivers;
  send_awaiter* senders;
  {
    std::lock_guard lk(lock_);
    if (closed_) return;
    closed_ = true;
    receivers = receivers_.take_all();  // their results stay empty
    senders = senders_.take_all();      // their values are dropped; sent_ stays false
  }
  while (receivers) {
    receive_awaiter* next = receivers->next_;  // read before the coroutine may run
    wake(receivers);
    receivers = next;
  }
  while (senders) {
    send_awaiter* next = senders->next_;
    wake(senders);
    senders = next;
  }
}

}  // namespace cmbench::coro
