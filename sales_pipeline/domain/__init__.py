"""The records, enums and rules the pipeline speaks; no I/O, imports only the standard library.

Everything here is shared vocabulary: the normalizing transforms, the pandera schemas, the HTTP
clients' pre-send validation and the Dagster assets all agree through it, so it can depend on
nothing but Python itself (no pandas, no Dagster, no vendor client).
"""
