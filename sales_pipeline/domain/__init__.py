"""The records, enums and rules the pipeline speaks; no I/O, imports only the standard library."""
