"""`python -m sales_pipeline.cli`: the `sales-pipeline` command line."""

from sales_pipeline.cli import main

raise SystemExit(main())
