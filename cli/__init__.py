"""The `reflect` command line: one module per command group; cli/main.py parses and dispatches."""
