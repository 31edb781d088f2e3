"""Microsoft identity platform, Graph and Exchange Web Services mocks."""
