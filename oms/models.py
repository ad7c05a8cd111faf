"""Project-wide tables (the outbox lives here). Importing this module also makes
``oms`` a models app, so Django sends it ``post_migrate`` and the staff groups sync."""
