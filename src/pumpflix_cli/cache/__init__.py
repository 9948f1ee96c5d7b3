"""The Redis adapter: the only package that imports redis-py."""
