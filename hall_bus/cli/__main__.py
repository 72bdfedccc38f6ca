import sys

from hall_bus.cli.hallctl import main

sys.exit(main())
