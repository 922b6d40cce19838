"""The validation suite's user model in each validation library this peer can
use; each module's `load(document)` gives (the normalized user, []) or
(None, [(location, message), …]) with every failing field."""
