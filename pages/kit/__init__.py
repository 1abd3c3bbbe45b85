"""What every page shares, one module per job: the app shell, the database, the acting user, cached reads,
tables and paging, feedback after writes, downloads and text."""
