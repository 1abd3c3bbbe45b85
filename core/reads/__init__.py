"""The read side: query functions returning DataFrames for pages, exports and charts, one module per topic.

Each function runs one query per table shown (no query per WABA or per number). Rules stay in `core.model`.
"""
