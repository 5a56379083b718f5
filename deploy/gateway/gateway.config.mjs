// Hive Gateway configuration for zhongtai (docs/deploy.md#federated-deployment).
//
//   npx hive-gateway supergraph <supergraph.graphql> --port 4000
//
// Every request is authenticated by the subgraphs themselves (zero trust): the gateway
// forwards the caller's credentials, request id and W3C trace context (so a subgraph's
// spans join the caller's trace, docs/operations.md) to every subgraph it calls, and
// nothing else.
import { defineConfig } from '@graphql-hive/gateway';

const FORWARDED = ['authorization', 'x-api-key', 'x-request-id', 'traceparent', 'tracestate'];

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) =>
      Object.fromEntries(FORWARDED.map((name) => [name, request.headers.get(name) ?? undefined])),
  },
  // The subgraphs enforce depth, cost and rate limits per request; the gateway adds none.
  landingPage: false,
  graphiql: false,
});
