// fit: the least-squares line through (x, y) points, for per-unit costs with the fixed cost
// removed (idle's bytes per parked unit: the slope of memory over the number of units).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace cmbench {

struct line {
  double slope;
  double intercept;
};

// Ordinary least squares; nothing when there are fewer than two distinct x values.
inline std::optional<line> least_squares(const std::vector<double>& x,
                                         const std::vector<double>& y) {
  const std::size_t n = x.size() < y.size() ? x.size() : y.size();
  if (n < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx == 0) return std::nullopt;
  const double slope = sxy / sxx;
  return line{slope, my - slope * mx};
}

}  // namespace cmbench
