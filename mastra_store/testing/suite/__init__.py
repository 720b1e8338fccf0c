"""The conformance suite: every domain's behaviour through the public API, on the ``store`` fixture of
``mastra_store.testing.plugin``. Run it with ``pytest --pyargs mastra_store.testing.suite --mastra-store=URL``."""
