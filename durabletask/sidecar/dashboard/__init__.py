"""The sidecar's web dashboard: a page and a JSON API over the same core as the gRPC API.

It needs the optional ``aiohttp`` dependency (``pip install 'durabletask[dashboard]'``) and
runs on the sidecar's event loop. Start it with ``durabletask sidecar --dashboard`` or
``EmbeddedSidecar(dashboard_port=0)``; :mod:`durabletask.sidecar.dashboard.server` holds the
server, :mod:`~durabletask.sidecar.dashboard.api` the routes, ``page-assets/`` the page (a
directory name that cannot be a Python package, so setuptools ships it as plain data).
"""
