"""The webhook receiver: Lemlist and HubSpot events in, verified, bounded, into the inbox.

A small HTTP service (``sales-pipeline webhooks``) beside Dagster's webserver and daemon. It
only checks and stores: each accepted delivery is committed to the store's webhook inbox
(:mod:`sales_pipeline.store.inbox`) before the 2xx answer, and the ``webhook_inbox_sensor``
acts on it. It imports no Dagster.

Built on Starlette served by uvicorn rather than on the standard library's ``http.server``:
both are well-kept and come with ``dagster-webserver``, which runs on them (the project declares
them and locks the versions Dagster tests), and give what a public endpoint needs and
``http.server`` lacks: a streamed request body (to stop reading at the size cap), HTTP/1.1
keep-alive with an event loop that serves many slow clients at once, graceful shutdown on
SIGTERM, and an ASGI app that tests drive over real HTTP. FastAPI would add request models and
OpenAPI documents that three routes do not need.

- :mod:`.checks`: the pure checks (media type, length, JSON, secrets, signatures, events);
- :mod:`.app`: the ASGI application and :class:`ReceiverConfig`;
- :mod:`.server`: uvicorn in the foreground or on a thread.
"""

from sales_pipeline.webhooks.app import ReceiverConfig, create_app
from sales_pipeline.webhooks.server import running_receiver, serve

__all__ = ["ReceiverConfig", "create_app", "running_receiver", "serve"]
