// page_fault: what the first touch of an anonymous page costs on this machine.
#pragma once

#include <optional>

namespace cmbench {

// Every unit that gets a stack or a frame of its own (threads, fibers, TBB's suspended tasks)
// first-touches fresh pages, and the cost of a page fault differs by two orders of magnitude
// between machines: about 0.3 us on bare metal, 20 us measured on a paravirtualised VM here, where
// it made idle/fibers at 1M units take minutes. The run's context reports it so that a reader can
// tell a slow runtime from a slow machine. Median over small batches of an anonymous mapping
// with transparent huge pages refused (one fault per base page); nothing if mmap fails.
std::optional<double> page_fault_ns();

}  // namespace cmbench
