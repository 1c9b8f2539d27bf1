"""Encrypted local store (SQLCipher): schema, migrations, repositories, audit chain, outbox."""
