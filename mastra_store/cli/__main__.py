"""``python -m mastra_store.cli`` (same as the ``mastra-store`` console script)."""

from . import main

main()
