"""Physics algorithms per use case (registered as `k4mlinference.algorithms` entry points).

`sim`: toy generator, calorimeter simulation and reconstruction used by demos, tests and
benchmarks (the C++ CaloDigitizer lives in cpp/algorithms/).
"""
