"""The plumbing every domain uses: settings, resources, logging, errors, HTTP edge."""
