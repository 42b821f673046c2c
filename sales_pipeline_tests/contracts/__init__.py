"""The project's own contracts with its vendors: JSON Schemas (draft 2020-12) of the request and
answer fields the project relies on, per vendor operation, each citing its source."""
