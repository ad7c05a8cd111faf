"""The project app has no tables of its own (the outbox belongs to ``core``, the
notification log to ``orders``).

This module stays so that ``oms`` remains a models app: Django sends ``post_migrate``
only to apps with a models module, and that signal brings the staff groups back to
``oms.roles`` after every migrate (``OmsConfig.ready``).
"""
