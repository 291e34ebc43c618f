"""Real-browser tests (a package, so that their module names never clash with tests/)."""
