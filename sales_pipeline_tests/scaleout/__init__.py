"""Scale-out: the pipeline's steps on Celery workers, on the PostgreSQL-backed instance."""
