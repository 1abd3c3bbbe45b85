"""WABA Fleet domain: model and rules, persistence, services, reads, imports, exports and the command line."""
