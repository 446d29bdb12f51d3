"""Alert intake: one parser per source into one Alert model; dedup, grouping, routing, group messages."""
