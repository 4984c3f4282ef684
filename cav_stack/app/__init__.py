"""The composition root: node graph, in-process and multi-process runs, campaigns, replay, the CLI."""
