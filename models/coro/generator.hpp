// async_generator<T>: a coroutine that co_yields values and may co_await (sleep_until, channels)
// between them; consumed one value at a time with co_await gen.next().
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace cmbench::coro {

// Written here, like the scheduler, because no coroutine runtime is packaged for our toolchains.
// asyncio's async generator: `async def gen(): await sleep(d); yield v`, read with `async for`.
//
// The generator is lazy and runs on its consumer's thread of control: next() suspends the
// consumer and transfers to the body (symmetric transfer, no scheduler round trip); co_yield (and
// the end of the body) suspends the body and transfers straight back to the consumer. When the
// body co_awaits something else, e.g. a timer, both stay suspended until that resumes the body,
// on whichever worker it is, and the next co_yield resumes the consumer there.
//
// One consumer, one next() at a time. Destroying the generator is allowed when it is not running
// and not waiting on anything but its consumer (before the first next(), at a co_yield, or done).
template <class T>
class [[nodiscard]] async_generator {
 public:
  struct promise_type {
    std::optional<T> current;          // the value of the last co_yield, until next() takes it
    std::coroutine_handle<> consumer;  // who awaits next()
    std::exception_ptr error;

    async_generator get_return_object() noexcept {
      return async_generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct to_consumer {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().consumer;
      }
      void await_resume() noexcept {}
    };
    to_consumer yield_value(T value) noexcept(std::is_nothrow_move_constructible_v<T>) {
      current.emplace(std::move(value));
      return {};
    }
    to_consumer final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  async_generator(async_generator&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  async_generator& operator=(async_generator&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~async_generator() {
    if (h_) h_.destroy();
  }

  // co_await next(): runs the body to its next co_yield and returns that value, or nothing once
  // the body has returned; rethrows what the body threw.
  auto next() noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() noexcept { return h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> consumer) noexcept {
        h.promise().consumer = consumer;
        return h;
      }
      std::optional<T> await_resume() {
        promise_type& p = h.promise();
        if (p.error) std::rethrow_exception(std::exchange(p.error, nullptr));
        return std::exchange(p.current, std::nullopt);
      }
    };
    return awaiter{h_};
  }

 private:
  explicit async_generator(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace cmbench::coro
