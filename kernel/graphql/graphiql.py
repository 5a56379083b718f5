"""The GraphiQL page served at ``/graphql`` to browsers in development only.

Its scripts and stylesheet come from this server (``/graphiql/…``), never from a CDN:
they are built from the npm registry by ``tools/graphiql`` and committed under
``static/graphiql`` (decision 0170), so GraphiQL works on a network that blocks CDNs.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql"
ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"

GRAPHIQL_HTML = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>zhongtai GraphiQL</title>
  <style>body {{ margin: 0; }} #graphiql {{ height: 100dvh; }}</style>
  <link rel="stylesheet" href="{ASSETS_PATH}/graphiql.min.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL… Paste your token as a header:
    {{"Authorization": "Bearer &lt;token from the console&gt;"}}</div>
  <script src="{ASSETS_PATH}/react.production.min.js"></script>
  <script src="{ASSETS_PATH}/react-dom.production.min.js"></script>
  <script src="{ASSETS_PATH}/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultHeaders: '{{"Authorization": "Bearer "}}',
        shouldPersistHeaders: true,
      }})
    );
  </script>
</body>
</html>
"""


def graphiql_assets() -> Mount:
    """The route serving the page's scripts and stylesheet (mounted in development only)."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql")
