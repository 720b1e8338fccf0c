"""The project's backends for every test directory, the shipped suite (mastra_store/testing/suite) included."""

pytest_plugins = ("tests.backends",)
