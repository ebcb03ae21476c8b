"""The statistics of scripts/compare: medians, the Mann-Whitney U test, and whether a test with
so few repetitions can reach significance at all.

The U test is scipy's (scipy.stats.mannwhitneyu, two-sided; exact for small samples without ties,
the normal approximation with tie correction otherwise). It makes no assumption about the shape
of the timing distribution, which is skewed and often bimodal on a shared machine.
"""

import math
import statistics

from scipy.stats import mannwhitneyu


def median(samples):
    return statistics.median(samples)


def smallest_p(n1, n2):
    """The smallest two-sided p-value the exact U test can give for these sample sizes: when
    every sample of one side is below every sample of the other. Above alpha, no data can be
    significant and the test is useless."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def fewest_repetitions(alpha):
    """The fewest repetitions per side (the same on both) at which smallest_p is below alpha."""
    n = 1
    while smallest_p(n, n) >= alpha:
        n += 1
    return n


def u_test(a, b):
    """Two-sided Mann-Whitney U p-value of samples a and b; 1.0 when every value is the same
    (nothing to tell apart)."""
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
