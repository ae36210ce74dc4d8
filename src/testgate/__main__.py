from __future__ import annotations

import sys

from testgate.cli import main

if __name__ == "__main__":
    sys.exit(main())
