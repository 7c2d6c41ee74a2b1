"""k4mlinference shim of `k4FWCore.parseArgs`: the argparse parser options files may extend.

k4run builds its own command line on top of this parser, so arguments added here appear in
`k4run OPTIONS.py --help`, and `parser.parse_known_args()` inside an options file sees k4run's argv.
"""

import argparse

parser = argparse.ArgumentParser(add_help=False)
