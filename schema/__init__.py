"""The composition root: the nine subgraphs, the single-process schema, the CLI."""
