"""Storage backends: in-memory, SQL (PostgreSQL + SQLite), DynamoDB."""
