"""The subcommands: each module parses its commands' arguments, calls ``harness.runs`` and
``harness.reporting``, and prints. ``harness.cli`` puts them under one parser."""
