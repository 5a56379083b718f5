"""GraphQL building blocks every center's subgraph uses, and the HTTP transport."""
