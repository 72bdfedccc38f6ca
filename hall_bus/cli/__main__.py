import sys

from hall_bus.cli.main import main

sys.exit(main())
