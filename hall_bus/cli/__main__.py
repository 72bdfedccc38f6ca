"""`python -m hall_bus.cli`: hallctl without its console script (the tests and the demo start nodes this way)."""

import sys

from hall_bus.cli.hallctl import main

if __name__ == "__main__":  # importing this module (the import tests do) runs nothing
    sys.exit(main())
