"""The HTTP API served by `careloop run`: business systems report events and customers.

app.py builds the aiohttp application from the dependencies it is given, server.py starts
and stops it, ingest.py decides what a request does, schemas.py and openapi.py describe it.
"""
