"""Local providers: build the servers from PyPI sdists, generate the tiny model, launch and
stop the servers. Used by the launch entries of providers.toml and by the tests."""
