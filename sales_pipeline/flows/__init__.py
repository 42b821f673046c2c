"""The verbs between the clients, the store and the transforms: enrich, push, suppress, write
back, engagement. Plain Python (no Dagster), so each is unit-tested with fake clients and a SQLite
store and can be driven from a script."""
