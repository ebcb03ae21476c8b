// machine_cpu: the CPU time the whole machine spent busy, to tell what other processes took.
#pragma once

#include <optional>

namespace cmbench {

// A cell's own cpu_util cannot tell a model that idles by itself (oneTBB's workers sleep at
// coarse grain) from one that another process kept off its cores; the machine's busy time minus
// the process's own CPU time over the same span is what the others (and the hypervisor, as
// steal) took. Seconds summed over every CPU since boot: user, nice, system, irq, softirq and
// steal of /proc/stat's aggregate line (idle and iowait are not busy; guest time is already
// inside user). Nothing where /proc/stat cannot be read or parsed.
std::optional<double> machine_busy_seconds();

// /proc/stat counts in USER_HZ ticks (10 ms on Linux): below this span a tick or two on each
// reading would be a large share of a core, so others_cores() says nothing.
inline constexpr double min_others_span_s = 0.2;

// The cores other processes kept busy over a span of wall_s seconds in which the machine was busy
// machine_busy_s and this process used own_cpu_s of CPU; clamped at 0 (tick rounding can make the
// difference slightly negative). Nothing when the span is shorter than min_others_span_s.
std::optional<double> others_cores(double machine_busy_s, double own_cpu_s, double wall_s);

}  // namespace cmbench
