"""Sleep diary: an example third-party Carnet section. The examples of the plugin author's guide
(docs/plugin_hooks.md) are taken from it, and its own tests run with plain ``pytest``."""
