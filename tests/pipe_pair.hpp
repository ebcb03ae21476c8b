// pipe_pair: a non-blocking pipe for the readiness tests of the runtimes with a reactor, closed
// at the end of its scope.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

namespace cmbench::test_support {

struct pipe_pair {
  int read_end = -1, write_end = -1;
  pipe_pair() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    read_end = fds[0];
    write_end = fds[1];
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  ~pipe_pair() {
    ::close(read_end);
    ::close(write_end);
  }
};

}  // namespace cmbench::test_support
