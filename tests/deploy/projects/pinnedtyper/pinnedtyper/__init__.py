"""A user's own server whose dependencies conflict with the CLI's; deployed by the tests."""
