"""Posts, readable and writable only by their author."""
