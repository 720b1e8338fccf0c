"""``python -m mastra_store.backends.dynamodb --table NAME [--endpoint URL]``: create the table (all GSIs, TTL)."""

import asyncio

from .table import _main

raise SystemExit(asyncio.run(_main()))
