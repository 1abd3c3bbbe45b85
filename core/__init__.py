"""WABA Fleet domain: model and rules, persistence, services, queries, imports and exports."""
